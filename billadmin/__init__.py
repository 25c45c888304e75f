"""billadmin: medical billing from the terminal, over one local SQLite file."""


def __getattr__(name: str) -> str:
    """`billadmin.__version__`, from the package metadata: pyproject.toml's [project] version is
    the one place it is written. Looked up on first use, as importlib.metadata costs start-up."""
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("billadmin")
        except PackageNotFoundError:  # a source tree that was never installed
            return "0+unknown"
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
