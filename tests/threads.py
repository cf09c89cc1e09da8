"""Real threads racing against the real database (SQLite file or PostgreSQL)."""
import threading

from app.extensions import db


def run_together(app, fn, n, timeout=120):
    """fn(i) in n threads, each with its own app context (own session), released at one instant.

    Returns (results, errors): what the calls returned and raised, for the caller to assert.
    """
    barrier = threading.Barrier(n)
    results, errors = [], []

    def run(i):
        with app.app_context():
            barrier.wait()
            try:
                results.append(fn(i))
            except Exception as exc:  # noqa: BLE001 — collected and asserted by the caller
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)
    return results, errors
