# act and its runner image, for running the generated workflow locally
# (TestGeneratedWorkflowRunsUnderAct). Included by the Makefile.
#
#   make act   build and cache act (e2e/act/build.sh), make the runner image
#              (e2e/act/runner-image.sh); both reuse what they made before, in seconds

.PHONY: act

# The end-to-end tests run the generated workflow under act in that image.
test-e2e: act

act:
	e2e/act/build.sh
	e2e/act/runner-image.sh
