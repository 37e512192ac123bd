"""Ctrl-C and leaving the process: what the first and second SIGINT do while a command runs, and
a hard exit that does not wait for a solver that ignored its limit."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType
from typing import NoReturn

from portfolio.exitcodes import EXIT_INTERRUPTED


class Interrupts:
    """What Ctrl-C (SIGINT) does while a command runs (see :func:`interrupts`).

    The first Ctrl-C sets :attr:`event`, which the solve polls like its deadline: the solver is
    asked to stop through its own interrupt and the command finishes normally with the best plan
    so far, writes its result and exits 130. A second Ctrl-C exits at once (130), after the
    result file being written, if any, is complete; solver child processes are killed first.

    Attributes:
        event: set by the first Ctrl-C.
    """

    def __init__(self) -> None:
        self.event = threading.Event()
        self._writing = 0
        self._exit_after_write = False

    def handle(self, signum: int, frame: FrameType | None) -> None:
        """The SIGINT handler (runs in the main thread, between two bytecodes)."""
        if not self.event.is_set():
            self.event.set()
            _write_stderr(
                "portfolio: interrupted: stopping the solver and keeping the best plan so far "
                "(Ctrl-C again to quit at once)\n"
            )
            return
        if self._writing:
            self._exit_after_write = True
            return
        _write_stderr("portfolio: interrupted again: quitting\n")
        hard_exit(EXIT_INTERRUPTED)

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """A result file is being written: a second Ctrl-C waits until it is complete."""
        self._writing += 1
        try:
            yield
        finally:
            self._writing -= 1
            if not self._writing and self._exit_after_write:
                _write_stderr("portfolio: interrupted again: quitting\n")
                hard_exit(EXIT_INTERRUPTED)


@contextlib.contextmanager
def interrupts() -> Iterator[Interrupts]:
    """Handle Ctrl-C as :class:`Interrupts` says for the duration of a command.

    Nothing is installed outside the main thread, nor when SIGINT is ignored (a background
    job): the previous handler is restored on exit.
    """
    state = Interrupts()
    installable = (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGINT) is not signal.SIG_IGN
    )
    previous = signal.signal(signal.SIGINT, state.handle) if installable else None
    try:
        yield state
    finally:
        if installable:
            signal.signal(signal.SIGINT, signal.SIG_DFL if previous is None else previous)


def hard_exit(code: int) -> NoReturn:
    """Exit now without waiting for solver threads (``os._exit``), after flushing the output
    and killing solver child processes. Interpreter shutdown is skipped on purpose: it would
    meet a solver's native threads still running and abort the process."""
    from portfolio.backends.base import kill_children

    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    kill_children()
    os._exit(code)


def solver_threads() -> set[threading.Thread]:
    """portfolio's solver threads still running (abandoned ones included)."""
    return {t for t in threading.enumerate() if t.name.startswith("portfolio-") and t.is_alive()}


def _write_stderr(text: str) -> None:
    """Write to file descriptor 2 directly (safe inside a signal handler)."""
    with contextlib.suppress(OSError):
        os.write(2, text.encode("utf-8", "replace"))
