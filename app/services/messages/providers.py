"""Who carries a message: one small interface, three providers, chosen by MESSAGE_PROVIDER.

- `console` (the default): writes the message to the log — development and the demo.
- `esms`: eSMS.vn (ViHAT), a Vietnamese SMS gateway. POST JSON to
  https://rest.esms.vn/MainService.svc/json/SendMultipleMessage_V4_post_json/ with ApiKey,
  SecretKey, Phone, Content, Brandname, SmsType "2" (customer care), IsUnicode "0", Sandbox and
  RequestId; the answer {"CodeResult": "100", "SMSID": ...} means accepted
  (https://developers.esms.vn/en/esms-api/send-sms-api/send-otp-customer-care-message). RequestId
  blocks duplicates: a repeat is answered CodeResult 124 "Duplicate RequestId"
  (https://developers.esms.vn/en/esms-api/table-of-error-codes), so a resend after a crash is safe
  — the gateway is *idempotent* for us.
- `zns`: Zalo Notification Service, a template message by phone number. POST JSON {phone
  "84…", template_id, template_data, tracking_id} to https://business.openapi.zalo.me/message/template
  with the OA's `access_token` header; {"error": 0, "data": {"msg_id": ...}} is success, other
  codes per https://zalo.cloud/zns/guidelines/handle-error-code. tracking_id is only for
  reconciliation, Zalo does not refuse a repeat: *not idempotent*.

A provider answers a Result: sent (with its id), retry (time-out, 5xx, 429, a fault that staff
can fix such as a wrong key or an empty balance) or failed (this message can never pass: a wrong
phone, a template the provider refuses), with the provider's reason.
"""
import hashlib
import json
import logging
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass

from ..phones import national_digits
from .templates import render, render_sms

log = logging.getLogger("gianhang.messages")

ESMS_URL = "https://rest.esms.vn/MainService.svc/json/SendMultipleMessage_V4_post_json/"
ZNS_URL = "https://business.openapi.zalo.me/message/template"


@dataclass(frozen=True)
class Outgoing:
    key: str  # the outbox idempotency key
    phone: str  # E.164
    template: str
    params: dict
    language: str


@dataclass(frozen=True)
class Result:
    outcome: str  # "sent", "retry" or "failed"
    provider_id: str | None = None
    error: str | None = None
    retry_after: int | None = None  # seconds, from a 429's Retry-After


class Provider:
    name = "?"
    idempotent = False  # does the provider itself refuse a repeat of the same message key?

    def send(self, message: Outgoing) -> Result:
        raise NotImplementedError


def short_key(key: str, length: int = 40) -> str:
    """A provider-sized stand-in for an idempotency key (the same key → the same id)."""
    return key if len(key) <= length else hashlib.sha256(key.encode()).hexdigest()[:length]


class ConsoleProvider(Provider):
    """Logs the message; a repeat only repeats a log line, so it counts as idempotent."""

    name, idempotent = "console", True

    def send(self, message: Outgoing) -> Result:
        log.info("message to %s [%s]: %s", message.phone, message.key,
                 render(message.template, message.params, message.language))
        return Result("sent", provider_id=f"console-{short_key(message.key, 12)}")


class _HTTPProvider(Provider):
    def __init__(self, url: str, timeout: float):
        self.url, self.timeout = url, timeout

    def _post(self, body: dict, headers: dict) -> tuple[Result | None, dict | None]:
        """(a Result to answer now, None) for a transport fault, else (None, the JSON answer)."""
        request = urllib.request.Request(
            self.url, data=json.dumps(body, ensure_ascii=False).encode(), method="POST",
            headers={"Content-Type": "application/json", "Accept": "application/json", **headers})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as resp:  # noqa: S310
                raw = resp.read(65536)
        except urllib.error.HTTPError as exc:
            if exc.code == 429:
                after = exc.headers.get("Retry-After", "")
                return Result("retry", error="HTTP 429",
                              retry_after=int(after) if after.isdigit() else None), None
            if exc.code >= 500:
                return Result("retry", error=f"HTTP {exc.code}"), None
            return Result("failed", error=f"HTTP {exc.code}"), None
        except (urllib.error.URLError, TimeoutError, socket.timeout, ConnectionError,
                OSError) as exc:
            return Result("retry", error=f"{type(exc).__name__}: {exc}"[:300]), None
        try:
            answer = json.loads(raw)
        except ValueError:
            return Result("retry", error="not JSON"), None
        if not isinstance(answer, dict):
            return Result("retry", error="not a JSON object"), None
        return None, answer


class EsmsProvider(_HTTPProvider):
    name, idempotent = "esms", True
    # This message can never pass: 99 phone blocked, 108 phone format, 118 message type,
    # 146 wrong customer-care template, 177 network not registered. Others (101 key, 103
    # balance, 104 brandname, 140 IP not whitelisted, ...) are retried: staff can fix them.
    PERMANENT = {"99", "108", "118", "146", "177"}

    def __init__(self, api_key: str, secret_key: str, brandname: str, url: str = ESMS_URL,
                 timeout: float = 10, sandbox: bool = False, callback_url: str = ""):
        super().__init__(url, timeout)
        self.api_key, self.secret_key, self.brandname = api_key, secret_key, brandname
        self.sandbox, self.callback_url = sandbox, callback_url

    def body(self, message: Outgoing) -> dict:
        return {"ApiKey": self.api_key, "SecretKey": self.secret_key,
                "Phone": national_digits(message.phone),
                "Content": render_sms(message.template, message.params, message.language),
                "Brandname": self.brandname, "SmsType": "2", "IsUnicode": "0",
                "Sandbox": "1" if self.sandbox else "0", "RequestId": short_key(message.key),
                **({"CallbackUrl": self.callback_url} if self.callback_url else {})}

    def send(self, message: Outgoing) -> Result:
        fault, answer = self._post(self.body(message), {})
        if fault:
            return fault
        code = str(answer.get("CodeResult", ""))
        if code == "100":
            return Result("sent", provider_id=str(answer.get("SMSID") or "")[:80] or None)
        if code == "124":  # this RequestId was accepted before: the message went out then
            return Result("sent", error="124 Duplicate RequestId (đã nhận trước đó)")
        reason = f"{code} {answer.get('ErrorMessage') or ''}".strip()[:300]
        return Result("failed" if code in self.PERMANENT else "retry", error=reason)


class ZnsProvider(_HTTPProvider):
    name, idempotent = "zns", False
    # -108 phone invalid, -109 template id invalid, -111/-112 template data empty/invalid,
    # -118 Zalo account does not exist, -119 account cannot receive ZNS.
    PERMANENT = {-108, -109, -111, -112, -118, -119}

    def __init__(self, access_token: str, template_ids: dict[str, str], url: str = ZNS_URL,
                 timeout: float = 10):
        super().__init__(url, timeout)
        self.access_token, self.template_ids = access_token, template_ids

    def body(self, message: Outgoing) -> dict:
        return {"phone": message.phone.lstrip("+"),
                "template_id": self.template_ids[message.template],
                "template_data": dict(message.params),
                "tracking_id": short_key(message.key, 48)}

    def send(self, message: Outgoing) -> Result:
        if message.template not in self.template_ids:
            return Result("failed", error=f"no ZNS template for {message.template}")
        fault, answer = self._post(self.body(message), {"access_token": self.access_token})
        if fault:
            return fault
        error = answer.get("error")
        if error == 0:
            data = answer.get("data") if isinstance(answer.get("data"), dict) else {}
            return Result("sent", provider_id=str(data.get("msg_id") or "")[:80] or None)
        reason = f"{error} {answer.get('message') or ''}".strip()[:300]
        return Result("failed" if error in self.PERMANENT else "retry", error=reason)


def from_config(config) -> Provider:
    """The provider MESSAGE_PROVIDER names (console, esms or zns) with its settings."""
    name = config.get("MESSAGE_PROVIDER") or "console"
    timeout = float(config.get("MESSAGE_HTTP_TIMEOUT", 10))
    if name == "esms":
        return EsmsProvider(config["ESMS_API_KEY"], config["ESMS_SECRET_KEY"],
                            config["ESMS_BRANDNAME"], config.get("ESMS_URL") or ESMS_URL,
                            timeout, sandbox=bool(config.get("ESMS_SANDBOX")),
                            callback_url=config.get("ESMS_CALLBACK_URL") or "")
    if name == "zns":
        listed = (config.get("ZNS_TEMPLATES") or "").split(",")
        pairs = (p.split("=", 1) for p in listed if "=" in p)
        return ZnsProvider(config["ZNS_ACCESS_TOKEN"], {k.strip(): v.strip() for k, v in pairs},
                           config.get("ZNS_URL") or ZNS_URL, timeout)
    if name == "console":
        return ConsoleProvider()
    raise ValueError(f"MESSAGE_PROVIDER={name!r}: console, esms or zns")
