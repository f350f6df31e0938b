"""One flow through the generated Python client, against a running Dispatch.

argv: base URL, the client package's parent folder. Registers a user and follows the job,
logs in, creates a task, lists products; prints what it saw as JSON for the test to check.
"""

import json
import sys
import time
import uuid

sys.path.insert(0, sys.argv[2])

from dispatch_client import AuthenticatedClient, Client  # noqa: E402
from dispatch_client.api.auth import post_api_v1_auth_login, post_api_v1_auth_register  # noqa: E402
from dispatch_client.api.catalogue import get_api_v1_products  # noqa: E402
from dispatch_client.api.jobs import get_api_v1_jobs_id  # noqa: E402
from dispatch_client.api.tasks import post_api_v1_tasks  # noqa: E402
from dispatch_client.models import (  # noqa: E402
    JobAccepted,
    LoginRequest,
    NewTask,
    RegisterRequest,
    TaskStatusValue,
)

base = sys.argv[1]
anonymous = Client(base_url=base, raise_on_unexpected_status=True)
name = "py" + uuid.uuid4().hex[:10]
password = "generated-client-1"

registered = post_api_v1_auth_register.sync(
    client=anonymous,
    body=RegisterRequest(username=name, email=f"{name}@example.com", password=password),
)
assert isinstance(registered, JobAccepted), registered
deadline = time.monotonic() + 30
while True:
    job = get_api_v1_jobs_id.sync(client=anonymous, id=str(registered.job_id))
    if job.status in ("succeeded", "failed") or time.monotonic() > deadline:
        break
    time.sleep(0.05)

session = post_api_v1_auth_login.sync(
    client=anonymous, body=LoginRequest(username=name, password=password)
)
signed_in = AuthenticatedClient(base_url=base, token=session.tokens.access)
task = post_api_v1_tasks.sync(client=signed_in, body=NewTask(title="from Python"))
products = get_api_v1_products.sync(client=signed_in)

print(
    json.dumps(
        {
            "job_status": job.status,
            "job_result_username": job.result.get("username")
            if isinstance(job.result, dict)
            else None,
            "user": session.username,
            "task_title": task.title,
            "task_status_is_enum": isinstance(task.status_task, TaskStatusValue),
            "task_status": task.status_task.value,
            "products": [
                {
                    "name": p.name,
                    "price": p.price,
                    "image": p.image,
                    "image_status": p.image_status,
                }
                for p in products.results
            ],
            "count": products.count,
        }
    )
)
