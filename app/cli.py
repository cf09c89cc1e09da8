"""Command-line tasks: `flask seed-demo`, `flask create-user`, ..."""
from pathlib import Path

import click
from flask import Flask


def register(app: Flask) -> None:
    @app.cli.command("create-user")
    @click.option("--name", required=True)
    @click.option("--phone", required=True)
    @click.option("--password", required=True)
    @click.option("--role", "roles", multiple=True, default=["student"])
    @click.option("--hub", "hub_id", type=int, default=None)
    def create_user(name, phone, password, roles, hub_id):
        """Create an account (roles: student, volunteer, vendor, organizer, admin)."""
        from .services import accounts
        try:
            user = accounts.register(name, phone, password, roles=roles, hub_id=hub_id)
        except (accounts.AccountError, ValueError) as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"Created user {user.id} ({user.phone})")

    @app.cli.group("hub")
    def hub_group():
        """Hubs (điểm phát): the union units that hold stock."""

    @hub_group.command("create")
    @click.option("--name", required=True, help="e.g. \"Đoàn trường THPT Nguyễn Văn Tiếp\"")
    @click.option("--province", default="",
                  help="Province/city name or code (2025 list); with --parent: the parent's.")
    @click.option("--ward", required=True, help="Ward/commune of the hub, name or code.")
    @click.option("--pickup-place", required=True)
    @click.option("--pickup-hours", required=True)
    @click.option("--deliver-to", "delivery_wards", multiple=True,
                  help="A ward the volunteers deliver to by hand (repeat).")
    @click.option("--weekly-limit", type=int, default=None)
    @click.option("--parent", "parent_id", type=int, default=None,
                  help="Id of the unit above (same province); none: the top of a tree.")
    @click.option("--level", type=click.Choice(["province", "commune", "base"]), default="base",
                  show_default=True, help="Tỉnh Đoàn, Đoàn xã/phường or a base union.")
    @click.option("--holds-stock/--no-stock", default=True, show_default=True,
                  help="Whether the unit hands items out (a province union usually does not).")
    def hub_create(name, province, ward, pickup_place, pickup_hours, delivery_wards,
                   weekly_limit, parent_id, level, holds_stock):
        """Create a unit; defaults (weekday, limit, retention) come from the configuration."""
        from .services import hubs
        try:
            hub = hubs.create_hub(hubs.HubSpec(
                name, province, ward, pickup_place, pickup_hours, list(delivery_wards),
                weekly_limit, parent_id=parent_id, level=level, holds_stock=holds_stock))
        except hubs.HubError as exc:
            raise click.ClickException(str(exc)) from exc
        except LookupError:
            raise click.ClickException(f"Không có đơn vị {parent_id}.") from None
        click.echo(f"Created hub {hub.id} ({hub.slug}), delivering to "
                   f"{len(hub.delivery_wards)} wards")

    @app.cli.group("vietqr")
    def vietqr_group():
        """VietQR (NAPAS 247 bank transfer) payloads."""

    @vietqr_group.command("encode")
    @click.option("--bin", "bank_bin", required=True,
                  help="6-digit NAPAS BIN, e.g. 970436 (Vietcombank).")
    @click.option("--account", required=True, help="Account number, or card number with --card.")
    @click.option("--amount", type=int, default=None,
                  help="Whole đồng; makes a dynamic (one-off) code.")
    @click.option("--purpose", default=None,
                  help="Transfer message; folded to ASCII, cut to 25 characters.")
    @click.option("--bill", "bill_number", default=None, help="Bill/order number (62/01).")
    @click.option("--card", is_flag=True, help="Pay to a card number (QRIBFTTC).")
    @click.option("--name", default=None, help="Beneficiary name (59), folded to ASCII.")
    @click.option("--city", default=None, help="City (60), folded to ASCII.")
    def vietqr_encode(bank_bin, account, amount, purpose, bill_number, card, name, city):
        """Print the payload for a bank account or card."""
        from .services import vietqr
        try:
            qr = vietqr.build(bank_bin, account, amount=amount, purpose=purpose,
                              bill_number=bill_number, card=card, name=name, city=city)
        except vietqr.VietQRError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(vietqr.encode(qr))

    @vietqr_group.command("decode")
    @click.argument("payload")
    def vietqr_decode(payload):
        """Check a payload and print its fields as JSON."""
        import dataclasses
        import json

        from .services import vietqr
        try:
            qr = vietqr.decode(payload)
        except vietqr.VietQRError as exc:
            raise click.ClickException(str(exc)) from exc
        bank = vietqr.bank_by_bin(qr.bin)
        fields = dataclasses.asdict(qr) | {"bank": bank.short_name if bank else None}
        click.echo(json.dumps(fields, ensure_ascii=False, indent=2))

    @app.cli.command("seed-demo")
    @click.option("--if-empty", is_flag=True,
                  help="Do nothing (and say so) when hubs already exist.")
    def seed_demo(if_empty):
        """Fill an empty database with demo hubs, items and one account per role."""
        from . import seed
        from .services.phones import display_phone
        try:
            result = seed.seed_demo()
        except seed.DatabaseNotEmpty:
            if if_empty:
                click.echo("Cơ sở dữ liệu đã có điểm phát: bỏ qua dữ liệu mẫu.")
                return
            raise click.ClickException(
                "Cơ sở dữ liệu đã có dữ liệu; dữ liệu mẫu chỉ nạp vào cơ sở dữ liệu trống. "
                "Dùng --if-empty để bỏ qua trong trường hợp này.") from None
        click.echo(f"Đã tạo {len(result.hubs)} điểm phát ({'; '.join(result.hubs)}) "
                   f"và {result.items} món đồ.")
        click.echo(f"Tài khoản mẫu (mật khẩu chung: {result.password}):")
        for role, name, phone, unit in result.accounts:
            held_on = f" — {unit}" if unit else ""
            click.echo(f"  {role:<10} {display_phone(phone)}  {name}{held_on}")

    @app.cli.group("privacy")
    def privacy_group():
        """Personal data (Decree 13/2023/NĐ-CP)."""

    @privacy_group.command("purge")
    @click.option("--dry-run", is_flag=True, help="Only count what would be erased.")
    def privacy_purge(dry_run):
        """Erase phones and street addresses past each hub's retention period (safe to rerun)."""
        from .services import privacy
        result = privacy.purge(dry_run=dry_run)
        verb = "Sẽ xóa" if dry_run else "Đã xóa"
        click.echo(f"{verb} số điện thoại và địa chỉ: {result.requests} yêu cầu, "
                   f"{result.waitlist} mục danh sách chờ, {result.donations} quà tặng."
                   + (" (chạy thử: chưa thay đổi gì)" if dry_run else ""))

    @app.cli.group("batches")
    def batches_group():
        """The weekly delivery run of a hub."""

    @batches_group.command("build")
    @click.option("--hub", "hub_id", type=int, required=True, help="Hub id.")
    @click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), default=None,
                  help="Delivery date YYYY-MM-DD (default: the hub's next delivery day).")
    def batches_build(hub_id, day):
        """Build the run (routes, post-office dispatch, pickup list); safe to run again."""
        from .services import runs
        try:
            result = runs.build_run(hub_id, day=day.date() if day else None)
        except LookupError:
            raise click.ClickException(f"Không có điểm phát {hub_id}.") from None
        except runs.RunError as exc:
            raise click.ClickException(str(exc.message)) from None
        click.echo(f"Chuyến {result.date.isoformat()} (#{result.run_id}): "
                   f"{'mới lập' if result.created else 'đã có, lập lại'}; "
                   f"thêm {result.added} bưu kiện; {result.late} yêu cầu duyệt sau hạn chốt "
                   f"chờ chuyến sau.")

    @app.cli.group("messages")
    def messages_group():
        """The outbox of SMS / Zalo messages."""

    @messages_group.command("send")
    @click.option("--loop", is_flag=True, help="Keep sending (a long-running worker).")
    @click.option("--batch-size", default=20, show_default=True)
    @click.option("--interval", default=5.0, show_default=True,
                  help="Seconds to wait when nothing is due (with --loop).")
    def messages_send(loop, batch_size, interval):
        """Send the messages that are due (one batch; cron-friendly), or keep sending."""
        import logging
        import time
        from datetime import timedelta

        log = logging.getLogger("gianhang.messages")
        if not log.handlers:  # the console provider writes here: show it on the terminal
            log.addHandler(logging.StreamHandler())
            log.setLevel(logging.INFO)

        from .services.messages import providers, sender
        provider = providers.from_config(app.config)
        lease = timedelta(seconds=app.config["MESSAGE_LEASE_SECONDS"])
        while True:
            batch = sender.send_due(provider, size=batch_size, lease=lease,
                                    max_attempts=app.config["MESSAGE_MAX_ATTEMPTS"])
            click.echo(f"sent {batch.sent}, retry {batch.retry}, failed {batch.failed}, "
                       f"unknown {batch.unknown}")
            if not loop:
                break
            if not batch.claimed:
                time.sleep(interval)

    @messages_group.command("remind")
    @click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
                  help="The day it is (YYYY-MM-DD, Vietnam); reminders are for the next day.")
    def messages_remind(today):
        """Queue tomorrow's reminders (run each evening from cron; twice queues nothing more)."""
        from .services.formatting import local_today
        from .services.messages import reminders
        done = reminders.queue_reminders(today.date() if today else local_today())
        click.echo(f"reminders for {done.day.isoformat()}: {done.students} students, "
                   f"{done.volunteers} volunteers")

    @app.cli.command("backup")
    @click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
    def backup_command(out):
        """Write a consistent copy of the database to OUT, even while the app is writing."""
        from .extensions import db
        from .services import backup
        try:
            backup.backup(db.engine.url, out)
        except backup.BackupError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"Đã sao lưu cơ sở dữ liệu vào {out} ({out.stat().st_size:,} byte).")

    @app.cli.command("restore")
    @click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--yes", is_flag=True, help="Confirm: the current data is replaced.")
    def restore_command(source, yes):
        """Replace the whole database with the backup SOURCE (made by `flask backup`)."""
        from .extensions import db
        from .services import backup
        target = db.engine.url.render_as_string(hide_password=True)
        if not yes:
            raise click.ClickException(
                f"Phục hồi sẽ thay toàn bộ dữ liệu hiện có của {target} bằng {source}. "
                "Chạy lại với --yes nếu chắc chắn.")
        try:
            backup.restore(db.engine.url, source)
        except backup.BackupError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"Đã phục hồi {target} từ {source}.")
