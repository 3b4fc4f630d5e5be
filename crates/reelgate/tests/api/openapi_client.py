"""Drives reelgate through the client openapi-python-client generated from /openapi.json, as an
integrator would: submit a typed request, receive the webhook (verified with the Standard
Webhooks reference library), download the video. Prints one JSON object of what it saw.

usage: openapi_client.py BASE_URL API_KEY
(the generated package `reelgate_client` must be importable)"""

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
from standardwebhooks.webhooks import Webhook

from reelgate_client import AuthenticatedClient
from reelgate_client.api.account import webhook_secret
from reelgate_client.api.generations import create_generation, download_video, get_generation
from reelgate_client.models import GenerationView, Kling26TextToVideo, Kling26TextToVideoDuration

base_url, api_key = sys.argv[1], sys.argv[2]
received = []
arrived = threading.Event()


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["content-length"]))
        received.append(({k.lower(): v for k, v in self.headers.items()}, body.decode()))
        arrived.set()
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
threading.Thread(target=server.serve_forever, daemon=True).start()
hook_url = f"http://127.0.0.1:{server.server_address[1]}/hooks"

client = AuthenticatedClient(base_url=base_url, token=api_key, timeout=httpx.Timeout(30.0))
secret = webhook_secret.sync(client=client).webhook_secret

request = Kling26TextToVideo(
    model="kling-2.6/text-to-video",
    prompt="a red fox running through snow",
    duration=Kling26TextToVideoDuration.VALUE_5,
    sound=False,
    webhook_url=hook_url,
)
created = create_generation.sync_detailed(client=client, body=request, idempotency_key="python-client-1")
assert isinstance(created.parsed, GenerationView), created.content
generation_id = created.parsed.id

if not arrived.wait(60):
    sys.exit(f"no webhook within 60 s; generation: {get_generation.sync(generation_id, client=client)}")
time.sleep(0.5)  # a second delivery (a follow-up event) would have arrived by now
headers, body = received[0]
# Raises if the signature does not verify.
verified = Webhook(secret).verify(body, headers)
payload = json.loads(body)

video = download_video.sync_detailed(generation_id, 0, client=client)
link = payload["videos"][0]["url"] if payload.get("videos") else None
# The link in the webhook works on its own: no API key.
by_link = httpx.get(link, timeout=30.0) if link else None

print(json.dumps({
    "created_status": created.status_code.value,
    "generation_id": generation_id,
    "deliveries": len(received),
    "verified_id": verified.get("id"),
    "webhook": payload,
    "video_status": video.status_code.value,
    "video_head": video.content[:12].hex(),
    "video_bytes": len(video.content),
    "link_status": by_link.status_code if by_link is not None else None,
    "link_bytes": len(by_link.content) if by_link is not None else None,
}))
