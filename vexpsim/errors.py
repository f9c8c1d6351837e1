"""User-facing errors: the CLI prints them without a traceback and exits with status 1."""

from __future__ import annotations


class UserError(Exception):
    """An error in user input (a file, a config, a command-line option).

    `problems` holds every problem found, each a one-line message that names its place
    (file:line:column for sources, the key path for configs); str() joins them.
    """

    def __init__(self, problems: str | list[str], *, details: str | None = None) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        self.details = details
        super().__init__("\n".join(self.problems))

    def render(self) -> str:
        text = "\n".join(f"error: {p}" if not p.startswith(("error", " ")) else p
                         for p in self.problems)
        if self.details:
            text += "\n" + self.details
        return text
