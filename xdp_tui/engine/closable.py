"""A base for engine objects that hold kernel resources: `with X(...) as x:` closes them."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class Closable:
    """Subclasses define close(); the with-statement calls it on the way out, however it goes."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
