"""The outbox of messages (issue #13): written in the use-case's transaction, delivered by the
sender through eSMS or Zalo ZNS (local fake servers checking each request exactly), each message
exactly once through errors, time-outs, 429s, concurrent workers and a killed sender."""
import json
import logging
import os
import re
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app.extensions import db as _db
from app.models import MessageAttempt, OutboundMessage
from app.services.messages import enqueue, providers, sender, templates
from app.services.messages.providers import EsmsProvider, ZnsProvider, short_key
from tests.fake_gateways import ESMS_PATH, ZNS_PATH, FakeEsms, FakeZns

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 12, 5, 1, 0)  # UTC
PHONE = "+84912345678"
PARAMS = {"hub": "THPT Nguyễn Văn Tiếp", "code": "R4K7P9QX"}
ZNS_TEMPLATES = {"request_approved": "301001", "request_ready": "301002"}


@pytest.fixture
def esms():
    gateway = FakeEsms()
    yield gateway
    gateway.close()


@pytest.fixture
def zns():
    gateway = FakeZns()
    yield gateway
    gateway.close()


def esms_provider(gateway, timeout=2.0) -> EsmsProvider:
    return EsmsProvider("api-key-1", "secret-1", "GH0D", url=gateway.url, timeout=timeout)


def zns_provider(gateway, timeout=2.0) -> ZnsProvider:
    return ZnsProvider("oa-token-1", ZNS_TEMPLATES, url=gateway.url, timeout=timeout)


def queue(n=1, template="request_approved", lang="vi", prefix="req", params=PARAMS) -> list[str]:
    keys = [f"{prefix}:{i}:{template}" for i in range(n)]
    for key in keys:
        enqueue(_db.session, PHONE, template, params, lang, key)
    _db.session.commit()
    return keys


def message(key: str) -> OutboundMessage:
    _db.session.rollback()
    _db.session.expire_all()
    return _db.session.scalar(select(OutboundMessage).where(OutboundMessage.idempotency_key == key))


def outcomes(key: str) -> list[str | None]:
    return [a.outcome for a in message(key).attempt_log]


# ---------------------------------------------------------------- the outbox

def test_a_message_is_part_of_the_callers_transaction(db):
    enqueue(db.session, PHONE, "request_approved", PARAMS, "vi", "k1")
    db.session.rollback()  # the use-case failed: the message was never asked for
    assert db.session.scalars(select(OutboundMessage)).all() == []
    enqueue(db.session, PHONE, "request_approved", PARAMS, "en", "k1")
    db.session.commit()
    m = message("k1")
    assert (m.status, m.language, m.params, m.attempts) == ("queued", "en", PARAMS, 0)


def test_the_same_key_twice_is_one_message(db):
    first = enqueue(db.session, PHONE, "request_approved", PARAMS, "vi", "k1")
    again = enqueue(db.session, PHONE, "request_rejected", {**PARAMS, "reason": "x"}, "en", "k1")
    db.session.commit()
    assert first.id == again.id and again.template == "request_approved"
    assert len(db.session.scalars(select(OutboundMessage)).all()) == 1


def test_an_unknown_template_or_language_and_only_the_texts_parameters(db):
    with pytest.raises(KeyError):
        enqueue(db.session, PHONE, "no_such_template", {}, "vi", "k")
    with pytest.raises(KeyError):
        enqueue(db.session, PHONE, "request_rejected", PARAMS, "vi", "k")  # no reason
    kept = enqueue(db.session, PHONE, "request_approved", {**PARAMS, "reason": "x"}, "vi", "k1")
    assert kept.params == PARAMS
    assert enqueue(db.session, PHONE, "request_approved", PARAMS, "fr", "k2").language == "vi"


def test_the_console_provider_logs_the_message_in_its_language(db, caplog, monkeypatch):
    # Alembic's logging.fileConfig (tests/test_migrations.py) disables the loggers it finds.
    monkeypatch.setattr(logging.getLogger("gianhang.messages"), "disabled", False)
    queue(1, lang="en")
    with caplog.at_level("INFO", logger="gianhang.messages"):
        batch = sender.send_due(providers.ConsoleProvider(), now=T0)
    assert (batch.sent, batch.retry) == (1, 0)
    assert "your request R4K7P9QX has been approved" in caplog.text
    assert message("req:0:request_approved").status == "sent"


def test_nothing_is_sent_before_it_is_due(db, esms):
    key = queue(1)[0]
    _db.session.execute(OutboundMessage.__table__.update().values(
        next_attempt_at=T0 + timedelta(minutes=1)))
    _db.session.commit()
    assert sender.send_due(esms_provider(esms), now=T0).claimed == 0
    assert esms.requests == [] and message(key).status == "queued"


# ---------------------------------------------------------------- eSMS

def test_esms_request_is_exactly_as_documented(db, esms):
    key = queue(1)[0]
    batch = sender.send_due(esms_provider(esms), now=T0)
    assert batch.sent == 1
    [request] = esms.requests
    assert request["path"] == ESMS_PATH
    assert request["headers"]["content-type"] == "application/json"
    assert request["body"] == {
        "ApiKey": "api-key-1", "SecretKey": "secret-1", "Phone": "0912345678",
        "Content": "Gian hang 0 dong - THPT Nguyen Van Tiep: yeu cau R4K7P9QX cua ban da duoc "
                   "duyet. Chung toi se bao khi do san sang.",
        "Brandname": "GH0D", "SmsType": "2", "IsUnicode": "0", "Sandbox": "0",
        "RequestId": short_key(key)}
    m = message(key)
    assert (m.status, m.provider, m.provider_id, m.sent_at, m.attempts) == (
        "sent", "esms", "sms-1", T0, 1)


def test_esms_exactly_once_through_5xx_timeout_and_429(db, esms):
    """500, then a time-out (the gateway carried it anyway), then 429: the fourth call repeats the
    RequestId, eSMS answers 124 — the message went out once."""
    key = queue(1)[0]
    esms.script = [("status", 500), ("sleep", 1.5), ("status", 429, {"Retry-After": "300"})]
    provider, now = esms_provider(esms, timeout=0.5), T0
    waits = []
    for _ in range(4):
        sender.send_due(provider, now=now)
        m = message(key)
        if m.status != "queued":
            break
        waits.append(m.next_attempt_at - now)
        now = m.next_attempt_at
    assert waits == [timedelta(seconds=30), timedelta(seconds=60), timedelta(seconds=300)]
    m = message(key)
    assert (m.status, m.attempts) == ("sent", 4)
    assert outcomes(key) == ["retry", "retry", "retry", "sent"]
    assert [a.error for a in m.attempt_log][0] == "HTTP 500"
    assert "124" in m.last_error
    assert esms.carried == [short_key(key)]  # carried once
    assert len({json.dumps(r["body"], sort_keys=True) for r in esms.requests}) == 1  # same call


@pytest.mark.parametrize("code, outcome", [
    ("108", "failed"), ("99", "failed"), ("146", "failed"), ("103", "queued"), ("101", "queued"),
])
def test_esms_codes_fail_for_good_or_wait(db, esms, code, outcome):
    key = queue(1)[0]
    esms.script = [("json", {"CodeResult": code, "ErrorMessage": "eSMS says no"})]
    sender.send_due(esms_provider(esms), now=T0)
    m = message(key)
    assert m.status == outcome and m.last_error == f"{code} eSMS says no"


def test_too_many_attempts_end_failed_with_the_reason(db, esms):
    key = queue(1)[0]
    esms.script = [("status", 503)] * 3
    now = T0
    for _ in range(3):
        sender.send_due(esms_provider(esms), now=now, max_attempts=3)
        now += timedelta(hours=2)
    m = message(key)
    assert (m.status, m.attempts, m.last_error) == ("failed", 3, "Sau 3 lần thử: HTTP 503")
    assert sender.send_due(esms_provider(esms), now=now).claimed == 0 and len(esms.requests) == 3


def test_an_unreachable_gateway_is_retried(db):
    key = queue(1)[0]
    provider = EsmsProvider("k", "s", "B", url="http://127.0.0.1:9/none", timeout=0.5)
    assert sender.send_due(provider, now=T0).retry == 1
    assert message(key).status == "queued" and message(key).last_error


# ---------------------------------------------------------------- Zalo ZNS

def test_zns_request_is_exactly_as_documented(db, zns):
    key = queue(1, template="request_ready", lang="en", params={**PARAMS, "place": "Phòng Đoàn"})[0]
    sender.send_due(zns_provider(zns), now=T0)
    [request] = zns.requests
    assert request["path"] == ZNS_PATH
    assert request["headers"]["access_token"] == "oa-token-1"
    assert request["body"] == {"phone": "84912345678", "template_id": "301002",
                               "template_data": {**PARAMS, "place": "Phòng Đoàn"},
                               "tracking_id": short_key(key, 48)}
    m = message(key)
    assert (m.status, m.provider_id) == ("sent", "zmsg-1")


@pytest.mark.parametrize("error, outcome", [(-108, "failed"), (-118, "failed"), (-100, "queued"),
                                            (-124, "queued")])
def test_zns_errors(db, zns, error, outcome):
    key = queue(1)[0]
    zns.script = [("json", {"error": error, "message": "Zalo says no"})]
    sender.send_due(zns_provider(zns), now=T0)
    m = message(key)
    assert (m.status, m.last_error) == (outcome, f"{error} Zalo says no")


def test_zns_exactly_once_through_429_and_5xx(db, zns):
    key = queue(1)[0]
    zns.script = [("status", 429), ("status", 502)]
    now = T0
    for _ in range(3):
        sender.send_due(zns_provider(zns), now=now)
        now += timedelta(hours=1)
    assert message(key).status == "sent" and zns.carried == [short_key(key, 48)]
    assert outcomes(key) == ["retry", "retry", "sent"]


def test_zns_without_a_template_for_the_message_fails(db, zns):
    key = queue(1, template="request_delivered")[0]
    sender.send_due(zns_provider(zns), now=T0)
    assert message(key).status == "failed" and zns.requests == []


# ---------------------------------------------------------------- workers

def test_concurrent_workers_send_each_message_once(app, db, esms):
    keys = queue(30)

    def work(_):
        with app.app_context():
            total = 0
            while batch := sender.send_due(esms_provider(esms), now=T0, size=4):
                if not batch.claimed:
                    break
                total += batch.sent
            return total

    with ThreadPoolExecutor(max_workers=3) as pool:
        sent = sum(pool.map(work, range(3)))
    assert sent == 30
    assert sorted(esms.carried) == sorted(short_key(k) for k in keys)
    assert len(esms.requests) == 30  # no message was even tried twice
    assert {message(k).status for k in keys} == {"sent"}


def _kill_a_sender_mid_batch(app, gateway, provider_env: dict) -> None:
    """`flask messages send` in its own process; killed while the gateway holds the second call
    (the gateway has carried that message; the sender never learns it)."""
    gateway.script = [("sleep", 0), ("hang",)]
    env = {**os.environ, "FLASK_APP": "wsgi.py", "MESSAGE_LEASE_SECONDS": "0",
           "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], **provider_env}
    proc = subprocess.Popen([sys.executable, "-m", "flask", "messages", "send",
                             "--batch-size", "10"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert gateway.hanging.wait(60), proc.stderr.read1().decode() if proc.poll() else "?"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        gateway.release.set()


def test_a_killed_sender_resends_through_esms_idempotency(app, db, esms):
    keys = queue(3)
    _kill_a_sender_mid_batch(app, esms, {
        "MESSAGE_PROVIDER": "esms", "ESMS_URL": esms.url, "ESMS_API_KEY": "api-key-1",
        "ESMS_SECRET_KEY": "secret-1", "ESMS_BRANDNAME": "GH0D"})
    # The batch was claimed; the second call was open when the sender died; the third never began.
    assert [message(k).status for k in keys] == ["sent", "sending", "sending"]
    assert [outcomes(k) for k in keys] == [["sent"], [None], []]
    batch = sender.send_due(esms_provider(esms), now=datetime.now(), lease=timedelta(0))
    assert (batch.sent, batch.unknown) == (2, 0)
    assert [message(k).status for k in keys] == ["sent", "sent", "sent"]
    assert outcomes(keys[1]) == ["unknown", "sent"] and "124" in message(keys[1]).last_error
    assert outcomes(keys[2]) == ["sent"]
    assert sorted(esms.carried) == sorted(short_key(k) for k in keys)  # each exactly once


def test_a_killed_sender_leaves_a_zns_message_unknown_not_twice(app, db, zns):
    keys = queue(3)
    _kill_a_sender_mid_batch(app, zns, {
        "MESSAGE_PROVIDER": "zns", "ZNS_URL": zns.url, "ZNS_ACCESS_TOKEN": "oa-token-1",
        "ZNS_TEMPLATES": "request_approved=301001"})
    batch = sender.send_due(zns_provider(zns), now=datetime.now(), lease=timedelta(0))
    assert (batch.sent, batch.unknown) == (1, 1)
    assert [message(k).status for k in keys] == ["sent", "unknown", "sent"]
    assert "không gửi lại" in message(keys[1]).last_error
    assert sorted(zns.carried) == sorted(short_key(k, 48) for k in keys)  # none twice
    assert _db.session.scalar(select(MessageAttempt.outcome).where(
        MessageAttempt.message_id == message(keys[1]).id)) == "unknown"


# ---------------------------------------------------------------- the texts

LONGEST = {"hub": "Đoàn trường THPT Nguyễn Văn Tiếp Cái Bè Đồng Tháp", "code": "R4K7P9QX",
           "reason": "Ưu tiên các bạn ở xa trường hơn, mời bạn đăng ký lại vào tuần sau nhé",
           "place": "Phòng Đoàn, tầng trệt dãy nhà A, trường THPT Nguyễn Văn Tiếp",
           "tracking": "EB123456789VN-0000000001", "day": "06/12/2026",
           "title": "Bộ sách giáo khoa lớp 12 đầy đủ các môn", "amount": "1.250.000.000",
           "name": "Nguyễn Thị Phương Thảo Hoàng Anh", "route": "1, 2, 3, 4, 5, 6",
           "stops": "120"}


@pytest.mark.parametrize("language", ["vi", "en"])
@pytest.mark.parametrize("key", sorted(templates.TEMPLATES))
def test_every_text_is_one_sms_and_says_who_sends_it(app, key, language):
    with app.test_request_context():
        text = templates.unaccented(templates.render(key, LONGEST, language))
        assert templates.gsm7_length(text) is not None, text  # every character has a GSM-7 form
        assert templates.gsm7_length(text) <= templates.SMS_LIMIT, (len(text), text)
        who = "Gian hang 0 dong - Doan truong THPT Nguyen V..." if "hub" in \
            templates.PARAMS[key] else "Gian hang 0 dong: "  # a one-time code: no unit yet
        assert text.startswith(who), text
        assert templates.render_sms(key, LONGEST, language) == text
        used = set(re.findall(r"%\((\w+)\)s", str(templates.TEMPLATES[key])))
        assert used == set(templates.PARAMS[key])  # the texts take exactly their parameters
        if language == "en":
            assert text != templates.unaccented(templates.render(key, LONGEST, "vi"))
