from django.db import connection
from django.http import Http404, JsonResponse

from .models import Question


def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def index(request):
    latest = Question.objects.order_by("-pub_date")[:5]
    return JsonResponse({"questions": [q.question_text for q in latest]})


def detail(request, question_id):
    try:
        question = Question.objects.get(pk=question_id)
    except Question.DoesNotExist:
        raise Http404(f"question {question_id} does not exist")
    return JsonResponse(
        {"question": question.question_text, "choices": [c.choice_text for c in question.choice_set.all()]}
    )
