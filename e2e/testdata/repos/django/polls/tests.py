import datetime

from django.test import TestCase
from django.utils import timezone

from .models import Question


class PollsTests(TestCase):
    def test_healthz(self):
        resp = self.client.get("/healthz")
        self.assertEqual(resp.status_code, 200)

    def test_index_lists_latest(self):
        Question.objects.create(question_text="What's new?", pub_date=timezone.now())
        Question.objects.create(question_text="Old?", pub_date=timezone.now() - datetime.timedelta(days=3))
        resp = self.client.get("/polls/")
        self.assertEqual(resp.json(), {"questions": ["What's new?", "Old?"]})

    def test_detail_404(self):
        self.assertEqual(self.client.get("/polls/42/").status_code, 404)
