"""Local fake SMS (eSMS) and Zalo ZNS servers: real HTTP servers in a thread that record every
request exactly and answer from a script (errors, time-outs, 429, a hang to kill a sender in)."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ESMS_PATH = "/MainService.svc/json/SendMultipleMessage_V4_post_json/"
ZNS_PATH = "/message/template"


class FakeGateway:
    """`script` is consumed one entry per request: ("status", code[, headers]) answers that HTTP
    status; ("sleep", s) carries the message and answers after s seconds (a client time-out: the
    message went out, the client does not know); ("hang",) carries the message, sets `hanging` and
    waits for `release`; ("json", dict) answers that body. Without an entry, the gateway's own
    answer (`accept`)."""

    path = "/"

    def __init__(self):
        self.requests: list[dict] = []  # {"path", "headers" (lower-case names), "body"}
        self.script: list[tuple] = []
        self.carried: list[str] = []  # the ids of the messages this gateway carried, in order
        self.hanging, self.release = threading.Event(), threading.Event()
        self.lock = threading.Lock()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                body = json.loads(raw)
                with gateway.lock:
                    gateway.requests.append({"path": self.path, "headers": {
                        name.lower(): value for name, value in self.headers.items()},
                                             "body": body})
                    step = gateway.script.pop(0) if gateway.script else None
                if step and step[0] == "status":
                    self.send_response(step[1])
                    for name, value in (step[2] if len(step) > 2 else {}).items():
                        self.send_header(name, value)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(b'{"error": "busy"}')
                    return
                if step and step[0] == "json":
                    answer = step[1]
                else:
                    if step and step[0] == "hang":
                        answer = gateway.accept(body)
                        gateway.hanging.set()
                        gateway.release.wait(60)
                    else:
                        answer = gateway.accept(body)  # carried on arrival, answered late
                        if step and step[0] == "sleep":
                            time.sleep(step[1])
                data = json.dumps(answer).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client is gone (timed out, or killed)
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{self.path}"

    def accept(self, body: dict) -> dict:
        raise NotImplementedError

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


class FakeEsms(FakeGateway):
    """Carries each RequestId once; a repeat is refused with 124, as eSMS documents."""

    path = ESMS_PATH

    def accept(self, body):
        with self.lock:
            if body["RequestId"] in self.carried:
                return {"CodeResult": "124", "ErrorMessage": "Duplicate RequestId"}
            self.carried.append(body["RequestId"])
            return {"CodeResult": "100", "CountRegenerate": 0, "SMSID": f"sms-{len(self.carried)}"}


class FakeZns(FakeGateway):
    """Carries every request (Zalo does not refuse a repeat): `carried` shows any twice."""

    path = ZNS_PATH

    def accept(self, body):
        with self.lock:
            self.carried.append(body["tracking_id"])
            return {"error": 0, "message": "Success", "data": {
                "msg_id": f"zmsg-{len(self.carried)}", "sent_time": "1764770000000",
                "quota": {"dailyQuota": "500", "remainingQuota": "499"}}}
