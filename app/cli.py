"""Command-line tasks: `flask seed-demo`, `flask create-user`, ..."""
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
