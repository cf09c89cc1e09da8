"""Configuration, all from environment variables (python-dotenv loads `.env` if present)."""
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
INSTANCE_DIR = BASE_DIR / "instance"


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-change-me")
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'gianhang.db'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    REDIS_URL = os.environ.get("REDIS_URL") or None
    # The limiter's counters: Redis when set (shared across machines), else a SQLite file of this
    # machine that all its worker processes share (app/ratelimit_storage.py), never one process's
    # memory. RATELIMIT_STORAGE_URI overrides both (a test's own file, for one).
    RATELIMIT_STORAGE_URI = (os.environ.get("RATELIMIT_STORAGE_URI") or REDIS_URL
                             or f"sqlite:///{INSTANCE_DIR / 'ratelimits.sqlite'}")
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_ENABLED = True
    UPLOAD_FOLDER = os.environ.get("UPLOAD_FOLDER", str(INSTANCE_DIR / "uploads"))
    MAX_CONTENT_LENGTH = _env_int("MAX_UPLOAD_MB", 8) * 1024 * 1024
    MAX_IMAGE_BYTES = _env_int("MAX_IMAGE_MB", 5) * 1024 * 1024
    # Hub defaults used when a hub is created without its own settings.
    HUB_DEFAULT_WEEKLY_LIMIT = _env_int("HUB_DEFAULT_WEEKLY_LIMIT", 3)
    HUB_DEFAULT_DELIVERY_WEEKDAY = _env_int("HUB_DEFAULT_DELIVERY_WEEKDAY", 5)  # Saturday
    HUB_DEFAULT_RETENTION_DAYS = _env_int("HUB_DEFAULT_RETENTION_DAYS", 30)
    TIMEZONE = "Asia/Ho_Chi_Minh"
    BABEL_DEFAULT_LOCALE = "vi"
    BABEL_DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
    LANGUAGES = ("vi", "en")
    CATALOG_PAGE_SIZE = 24
    # Seconds a catalog page for anonymous visitors is served from a per-process cache (0: off).
    CATALOG_CACHE_SECONDS = _env_int("CATALOG_CACHE_SECONDS", 10)
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = None
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10 per minute")
    # Wrong passwords per phone, from any address: then that phone's logins wait for the window
    # to end (at most 15 minutes; a password reset ends it at once).
    LOGIN_PHONE_FAILURE_LIMIT = os.environ.get("LOGIN_PHONE_FAILURE_LIMIT", "10 per 15 minutes")
    # Registration: per phone number, and a generous one per address, so that a whole class on
    # one school Wi-Fi (one address) can register in the same lesson.
    REGISTER_PHONE_RATE_LIMIT = os.environ.get("REGISTER_PHONE_RATE_LIMIT",
                                               "3 per minute;10 per hour")
    REGISTER_RATE_LIMIT = os.environ.get("REGISTER_RATE_LIMIT", "60 per minute;300 per hour")
    # Password resets with a code: per address (the wrong tries per phone void the code).
    RESET_RATE_LIMIT = os.environ.get("RESET_RATE_LIMIT", "10 per minute")
    REQUEST_RATE_LIMIT = os.environ.get("REQUEST_RATE_LIMIT", "20 per minute")
    BANK_WEBHOOK_RATE_LIMIT = os.environ.get("BANK_WEBHOOK_RATE_LIMIT", "600 per minute")
    # The HMAC key of POST /webhooks/bank.
    BANK_WEBHOOK_SECRET = os.environ.get("BANK_WEBHOOK_SECRET", "")
    # SePay's webhook "API Key" (POST /webhooks/sepay) and Casso's webhook checksum key (POST
    # /webhooks/casso); a route whose key is empty answers 404.
    SEPAY_API_KEY = os.environ.get("SEPAY_API_KEY", "")
    CASSO_CHECKSUM_KEY = os.environ.get("CASSO_CHECKSUM_KEY", "")
    # Messages to phones (services.messages): console (the log), esms or zns.
    MESSAGE_PROVIDER = os.environ.get("MESSAGE_PROVIDER", "console")
    MESSAGE_HTTP_TIMEOUT = float(os.environ.get("MESSAGE_HTTP_TIMEOUT", 10))
    MESSAGE_LEASE_SECONDS = _env_int("MESSAGE_LEASE_SECONDS", 300)  # > the HTTP time-out
    MESSAGE_MAX_ATTEMPTS = _env_int("MESSAGE_MAX_ATTEMPTS", 8)
    ESMS_API_KEY = os.environ.get("ESMS_API_KEY", "")
    ESMS_SECRET_KEY = os.environ.get("ESMS_SECRET_KEY", "")
    ESMS_BRANDNAME = os.environ.get("ESMS_BRANDNAME", "")
    ESMS_SANDBOX = os.environ.get("ESMS_SANDBOX", "") == "1"
    ESMS_URL = os.environ.get("ESMS_URL", "")  # default: eSMS's own
    ZNS_ACCESS_TOKEN = os.environ.get("ZNS_ACCESS_TOKEN", "")
    ZNS_TEMPLATES = os.environ.get("ZNS_TEMPLATES", "")  # "request_ready=123456,request_posted=…"
    ZNS_URL = os.environ.get("ZNS_URL", "")  # default: Zalo's own
    # One-time codes by SMS (services/phone_codes.py): registration checks the phone with a code,
    # and "Quên mật khẩu?" can send a reset code. On by default with a real provider; PHONE_CODES=1
    # turns them on with the console provider too (the demo: the codes are in the server's log).
    PHONE_CODES = os.environ.get("PHONE_CODES", "1" if MESSAGE_PROVIDER != "console" else "0") \
        == "1"
    PHONE_CODE_PHONE_LIMIT = os.environ.get("PHONE_CODE_PHONE_LIMIT", "3 per 15 minutes;10 per day")
    PHONE_CODE_ADDRESS_LIMIT = os.environ.get("PHONE_CODE_ADDRESS_LIMIT", "60 per hour;300 per day")
    # Delivery receipts (app/webhooks/receipts.py), each route off (404) without its secret.
    ESMS_CALLBACK_SECRET = os.environ.get("ESMS_CALLBACK_SECRET", "")  # /webhooks/esms/<secret>
    ESMS_CALLBACK_URL = os.environ.get("ESMS_CALLBACK_URL", "")  # that route's public address
    ZNS_APP_ID = os.environ.get("ZNS_APP_ID", "")
    ZNS_OA_SECRET_KEY = os.environ.get("ZNS_OA_SECRET_KEY", "")  # signs Zalo's webhook
    PREFERRED_URL_SCHEME = "http"
    # The post office's public tracking page of a parcel; {number} is the tracking number
    # (Vietnam Post's "Định vị bưu gửi").
    POST_TRACKING_URL = os.environ.get(
        "POST_TRACKING_URL", "https://www.vnpost.vn/vi-vn/dinh-vi/buu-pham?key={number}")


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret"
    RATELIMIT_ENABLED = False
    RATELIMIT_STORAGE_URI = "memory://"  # tests that enable limits never count in instance/
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")


def config_for_env() -> type[Config]:
    return ProductionConfig if os.environ.get("APP_ENV") == "production" else Config
