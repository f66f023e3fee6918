import click


@click.group()
def cli():
    """rolloutctl"""


def main():
    cli()
