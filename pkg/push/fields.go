package push

// Fields of Push's arguments, of the options and of Credential, as a
// *field.Error or a field.Names names them.
const (
	FieldRepos    = "push.Pusher.Push.repos"
	FieldTags     = "push.Pusher.Push.tags"
	FieldCAFile   = "push.WithCAFile"
	FieldInsecure = "push.WithInsecure"
	FieldRegistry = "push.Credential.Registry"
	FieldUsername = "push.Credential.Username"
	FieldPassword = "push.Credential.Password"
)
