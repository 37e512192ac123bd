"""Solver runs in a child process that is ended for good at the deadline.

A solver that runs in the caller's process and does not stop when asked (HiGHS in presolve or
crossover, which have no interrupt callback) can only be abandoned: its thread, its CPU and its
model stay with the process, and a long-lived process (a server, a batch worker, a notebook)
accumulates them; at exit the interpreter may abort while one still runs. :func:`isolated` wraps a
backend so that each :meth:`~portfolio.backends.base.Backend.solve` runs in a child process of
its own, which is asked to stop through the solver's own interrupt (a message on the pipe) and
killed when it does not stop in time, so every run is reclaimed: threads, memory and CPU.

The children are a small pool of solver processes (:class:`Worker`), forked from a template
process (:class:`Template`) that was started once with ``python -c`` (so it never runs the
caller's main module, unlike ``multiprocessing``'s ``spawn`` and ``forkserver``) and has the
solvers imported; each worker serves one call at a time. A worker is reused until it has served
:data:`MAX_CALLS` calls; one killed at a deadline is replaced by a new one forked at once, so
that the next call finds it ready. The model goes over
a socket as a pickle (protocol 5) whose numpy buffers are sent out of band, straight from the
arrays' memory; the answer (a :class:`~portfolio.result.BackendResult`) comes back the same way.
A worker ignores Ctrl-C (the parent asks it to stop) and exits as soon as the parent goes (its
socket closes).
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import os
import pickle
import queue
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, ClassVar, cast

from portfolio.backends.base import Backend, OptionCheck, SolveRequest, track_child, untrack_child
from portfolio.linear import FloatArray, LinearModel
from portfolio.params import SolveParams
from portfolio.result import BackendResult, Status

#: Seconds past its time limit a child gets before it is killed (a stop request never gives it
#: longer).
KILL_GRACE = 0.25
#: Seconds a child gets to return its best plan after it was asked to stop.
STOP_GRACE = 0.75
#: How often the parent looks at the deadline and the interrupt while a child runs (seconds).
POLL_SECONDS = 0.02
#: Calls a worker serves before it is replaced (what a long run leaves in it is given back).
MAX_CALLS = 50
#: Idle workers kept ready.
MAX_IDLE = 2
#: Modules the template process imports once, so that each worker starts with them loaded.
PRELOAD = (
    "portfolio.backends.registry",
    "portfolio.backends.isolated",
    "numpy",
    "scipy.sparse",
    "highspy",
)

_READY = "ready"
_template_lock = threading.Lock()
_lock = threading.Lock()
_idle: list[Worker] = []


class ChildFailed(RuntimeError):
    """The solver's child process could not be started, or ended without an answer."""


class NotPortable(ChildFailed):
    """A call cannot go to a solver process: it does not pickle (a backend class defined in a
    script or a function, an attribute that does not pickle)."""


def pack(value: Any) -> tuple[bytes, list[memoryview]]:
    """``value`` as a :class:`Channel` message: the head (length, buffer sizes, pickle) and the
    buffers.

    Raises:
        NotPortable: ``value`` does not pickle.
    """
    buffers: list[pickle.PickleBuffer] = []
    try:
        head = pickle.dumps(value, protocol=5, buffer_callback=buffers.append)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        raise NotPortable(f"the call cannot be sent to a solver process: {exc}") from exc
    views = [buffer.raw() for buffer in buffers]
    sizes = struct.pack(f"<I{len(views)}Q", len(views), *(v.nbytes for v in views))
    return struct.pack("<Q", len(sizes) + len(head)) + sizes + head, views


class Channel:
    """One end of a socket pair carrying values: a protocol-5 pickle whose buffers (numpy
    arrays) travel out of band, sent straight from the arrays' memory and received in place
    into writable buffers (no copy into or out of the pickle).

    A message is an 8-byte length and a head (the number of buffers, their sizes, the pickle),
    then the buffers' bytes.
    """

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.closed = False

    def poll(self, timeout: float) -> bool:
        """True when something (a message, or the end of the stream) can be read."""
        readable, _, _ = select.select([self.sock], [], [], max(0.0, timeout))
        return bool(readable)

    def send(self, value: Any) -> None:
        """Send ``value`` (see the class docstring)."""
        self.send_packed(pack(value))

    def send_packed(self, packed: tuple[bytes, list[memoryview]]) -> None:
        """Send a value packed by :func:`pack`."""
        head, views = packed
        self.sock.sendall(head)
        for view in views:
            self.sock.sendall(view)

    def receive(self) -> Any:
        """Receive a value sent with :meth:`send`.

        Raises:
            EOFError: the other end has closed.
        """
        (length,) = struct.unpack("<Q", self._exactly(bytearray(8)))
        head = self._exactly(bytearray(length))
        (count,) = struct.unpack_from("<I", head)
        sizes = struct.unpack_from(f"<{count}Q", head, 4)
        buffers = [self._exactly(bytearray(size)) for size in sizes]
        return pickle.loads(memoryview(head)[4 + 8 * count :], buffers=buffers)

    def _exactly(self, buffer: bytearray) -> bytearray:
        view = memoryview(buffer)
        while view.nbytes:
            got = self.sock.recv_into(view)
            if not got:
                raise EOFError("the other end closed the socket")
            view = view[got:]
        return buffer

    def drain(self, timeout: float) -> None:
        """Read and drop whatever comes until the other end closes (or ``timeout`` seconds)."""
        give_up = time.perf_counter() + timeout
        with contextlib.suppress(OSError):
            while time.perf_counter() < give_up:
                if self.poll(0.05) and not self.sock.recv(1 << 16):
                    return

    def close(self) -> None:
        """Close this end."""
        self.closed = True
        with contextlib.suppress(OSError):
            self.sock.close()


def _child_env() -> dict[str, str]:
    """The environment of the template process: this one's, with this process's import path
    (so that it finds the same packages, whatever put them on ``sys.path``)."""
    env = dict(os.environ)
    paths = [p for p in sys.path if p and os.path.isdir(p)]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    return env


class Template:
    """The process workers are forked from: started once with ``python -c`` (never running the
    caller's main module), it imports the solvers and then, single-threaded and never solving,
    forks a worker for each socket it is sent (:func:`template_main`). A fork costs milliseconds
    where a fresh interpreter costs the imports (over a second)."""

    def __init__(self) -> None:
        mine, theirs = socket.socketpair()
        command = [sys.executable, "-c", f"{_BOOT}({theirs.fileno()})"]
        try:
            # A session of its own: the terminal's Ctrl-C reaches portfolio, which asks the
            # workers to stop; it never kills them (nor the template while it imports).
            self.process = subprocess.Popen(
                command, pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL,
                env=_child_env(), close_fds=True, start_new_session=True,
            )
        except (OSError, ValueError) as exc:
            mine.close()
            raise ChildFailed(f"could not start the solver processes' template: {exc}") from exc
        finally:
            theirs.close()
        self.control = mine
        self.lock = threading.Lock()
        track_child(self.process)

    def alive(self) -> bool:
        """The template process is running."""
        return self.process.poll() is None

    def fork(self, end: socket.socket) -> None:
        """Ask for a worker serving the other end of ``end``'s socket pair (sent with the
        request; the worker says it is ready, with its pid, on that socket)."""
        with self.lock:
            try:
                socket.send_fds(self.control, [b"fork"], [end.fileno()])
            except OSError as exc:
                raise ChildFailed(f"the solver processes' template is gone: {exc}") from exc


_templates: list[Template] = []


def _template() -> Template:
    """The running template process, started (again) when there is none."""
    with _template_lock:
        if _templates and not _templates[0].alive():
            untrack_child(_templates.pop().process)
        if not _templates:
            _templates.append(Template())
        return _templates[0]


def template_main(fd: int) -> None:
    """The template process: import the solvers, then fork a worker (:func:`worker_main`) for
    each socket received on ``fd``; exit when the parent goes (the socket closes). Workers are
    reaped by the system (``SIGCHLD`` ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    for module in PRELOAD:
        with contextlib.suppress(ImportError):
            importlib.import_module(module)
    control = socket.socket(fileno=fd)
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(control, 16, 4)
        except OSError:
            os._exit(0)
        if not message:
            os._exit(0)  # the parent is gone
        for received in fds:
            if os.fork() == 0:
                control.close()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                try:
                    worker_main(received)
                finally:
                    os._exit(0)
            os.close(received)


class Worker:
    """One solver process, forked from the :class:`Template`: it serves calls, one at a time,
    over a socket (:func:`worker_main`).

    Attributes:
        conn: the parent's end of the socket.
        pid: the worker's process id, once it said it is ready.
        calls: calls served so far.
    """

    def __init__(self) -> None:
        mine, theirs = socket.socketpair()
        try:
            _template().fork(theirs)
        except BaseException:
            mine.close()
            raise
        finally:
            theirs.close()
        self.conn = Channel(mine)
        self.pid: int | None = None
        self.calls = 0
        track_child(self)

    @property
    def ready(self) -> bool:
        """The worker has said it is ready."""
        return self.pid is not None

    def wait_ready(self, deadline: float) -> bool:
        """Wait until ``deadline`` (a ``time.perf_counter()`` reading) for the worker to say it
        is ready; False when it has not by then.

        Raises:
            ChildFailed: it ended before it was ready.
        """
        while self.pid is None:
            wait = deadline - time.perf_counter()
            if wait <= 0:
                return False
            try:
                if self.conn.poll(wait):
                    said, pid = self.conn.receive()
                    if said != _READY:
                        raise ChildFailed("the solver process did not start properly")
                    self.pid = int(pid)
            except (EOFError, OSError) as exc:
                raise ChildFailed(f"the solver process did not start ({exc!r})") from exc
        return True

    def alive(self) -> bool:
        """The worker has not ended (nor been ended)."""
        if self.conn.closed:
            return False
        if self.pid is None:
            return True
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # pragma: no cover - a reused pid
            return False
        return True

    def kill(self) -> None:
        """Kill the worker (a worker not yet ready ends when its socket closes)."""
        if self.pid is not None and not self.conn.closed:
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)

    def wait(self, timeout: float | None = None) -> None:
        """Wait until the worker has gone (its socket closes), at most ``timeout`` seconds."""
        if not self.conn.closed:
            self.conn.drain(5.0 if timeout is None else timeout)

    def end(self) -> None:
        """Kill the worker, wait until it is gone, close its socket."""
        self.kill()
        if self.pid is not None:
            self.wait(2.0)
        self.conn.close()
        untrack_child(self)


def _take() -> Worker:
    """An idle worker, or a new one when none is idle."""
    with _lock:
        while _idle:
            worker = _idle.pop()
            if worker.alive():
                break
            worker.end()
        else:
            worker = Worker()
    return worker


def prestart() -> None:
    """Have a worker ready (or on its way) for the next call: the first call in a process
    starts the template process, whose imports take about as long as this process's own; a
    solve calls this before it compiles, so that the two overlap."""
    with _lock:
        if not _idle:
            with contextlib.suppress(ChildFailed):
                _idle.append(Worker())


def _give_back(worker: Worker) -> None:
    """Return a worker after a call: kept idle (at most :data:`MAX_IDLE`) until it has served
    :data:`MAX_CALLS` calls, else ended."""
    with _lock:
        if worker.alive() and worker.calls < MAX_CALLS and len(_idle) < MAX_IDLE:
            _idle.append(worker)
            return
    worker.end()


def _replace(worker: Worker) -> None:
    """End a worker that was killed mid-call, and start its replacement in the background."""
    worker.end()
    with _lock:
        if len(_idle) < MAX_IDLE:
            with contextlib.suppress(ChildFailed):
                _idle.append(Worker())


def shutdown() -> None:
    """End every idle worker and the template process (they also end by themselves when this
    process exits)."""
    with _lock:
        workers = list(_idle)
        _idle.clear()
    for worker in workers:
        worker.end()
    with _template_lock:
        templates = list(_templates)
        _templates.clear()
    for template in templates:
        with contextlib.suppress(Exception):
            template.control.close()
            template.process.wait(5.0)
        untrack_child(template.process)


def worker_main(fd: int) -> None:
    """The worker process: say it is ready, then serve calls until the parent goes.

    A reader thread takes every message: a call ``(number, function, args, kwargs)`` goes to the
    main thread, which runs ``function(*args, interrupt=event, **kwargs)`` and sends back
    ``(number, "ok", value)`` or ``(number, "error", exception)``; a stop message ``number``
    sets the event of that call. When the socket closes (the parent is gone), the worker exits
    at once, whatever it is running.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's; it asks us to stop
    conn = Channel(socket.socket(fileno=fd))
    calls: queue.SimpleQueue[Any] = queue.SimpleQueue()
    current: list[Any] = [None, threading.Event()]
    current_lock = threading.Lock()

    def read() -> None:
        try:
            while True:
                message = conn.receive()
                if isinstance(message, int):
                    with current_lock:
                        if current[0] == message:
                            current[1].set()
                else:
                    calls.put(message)
        except (EOFError, OSError):  # the parent is gone: nobody wants the answer
            os._exit(0)

    conn.send((_READY, os.getpid()))
    threading.Thread(target=read, name="portfolio-worker-reader", daemon=True).start()
    while True:
        number, function, args, kwargs = calls.get()
        interrupt = threading.Event()
        with current_lock:
            current[0], current[1] = number, interrupt
        answer: tuple[int, str, Any]
        try:
            answer = (number, "ok", function(*args, interrupt=interrupt, **kwargs))
        except BaseException as exc:  # re-raised in the parent, when it survives the trip
            answer = (number, "error", _portable_error(exc))
        try:
            conn.send(answer)
        except (EOFError, OSError):
            os._exit(0)
        except Exception as exc:  # an answer that does not pickle
            conn.send((number, "error", ChildFailed(f"the answer could not be sent: {exc!r}")))


def _portable_error(exc: BaseException) -> BaseException:
    """``exc`` when it pickles and unpickles as it is, else a :class:`ChildFailed` naming it."""
    try:
        pickle.loads(pickle.dumps(exc, protocol=5))
    except Exception:
        return ChildFailed(f"{type(exc).__name__}: {exc}")
    return exc


_BOOT = "from portfolio.backends.isolated import template_main as main; main"
_numbers = itertools.count(1)


def call_in_child(
    function: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    interrupt: threading.Event | None,
    kill_at: float | None,
    stop_grace: float = STOP_GRACE,
) -> tuple[bool, Any]:
    """Call ``function(*args, interrupt=event, **kwargs)`` in a solver process.

    When ``interrupt`` is set, the worker's event is set (the solver's own stop); a worker that
    has not answered ``stop_grace`` seconds later is killed, as is one still running at
    ``kill_at`` (a ``time.perf_counter()`` reading). A killed worker is reaped before this
    returns, and a replacement started in the background.

    Returns:
        ``(True, value)`` with the function's value, or ``(False, why)`` when it did not answer
        (``why`` is ``"interrupted"`` or ``"time limit"``).

    Raises:
        ChildFailed: no worker could be started, or it died without an answer.
        BaseException: whatever ``function`` raised in the worker.
    """
    number = next(_numbers)
    packed = pack((number, function, args, kwargs))  # NotPortable before any worker is taken
    worker = _take()
    try:
        while not worker.wait_ready(time.perf_counter() + POLL_SECONDS * 5):
            stopped = interrupt is not None and interrupt.is_set()
            if stopped or (kill_at is not None and time.perf_counter() >= kill_at):
                _give_back(worker)  # it runs nothing yet: it serves the next call
                return False, "interrupted" if stopped else "time limit"
    except BaseException:
        worker.end()
        raise
    asked_at: float | None = None
    answer: tuple[int, str, Any] | None = None
    try:
        worker.conn.send_packed(packed)
        worker.calls += 1
        while answer is None:
            if worker.conn.poll(POLL_SECONDS):
                answer = worker.conn.receive()
                if answer[0] != number:  # pragma: no cover - an answer to an earlier call
                    answer = None
                continue
            now = time.perf_counter()
            if interrupt is not None and interrupt.is_set() and asked_at is None:
                asked_at = now
                worker.conn.send(number)
            if (asked_at is not None and now - asked_at >= stop_grace) or (
                kill_at is not None and now >= kill_at
            ):  # (a stop request never extends kill_at)
                _replace(worker)
                return False, "interrupted" if asked_at is not None else "time limit"
            if not worker.alive() and not worker.conn.poll(0):
                raise ChildFailed("the solver process ended without an answer")
    except (EOFError, OSError, ChildFailed) as exc:
        worker.end()
        if isinstance(exc, ChildFailed):
            raise
        raise ChildFailed(f"the solver process ended without an answer ({exc!r})") from exc
    except BaseException:  # KeyboardInterrupt while waiting: the run is not wanted any more
        _replace(worker)
        raise
    _give_back(worker)
    _, kind, value = answer
    if kind == "error":
        raise value
    return True, value


def portable(model: LinearModel) -> LinearModel:
    """``model`` as a worker gets it: every array as it is, row labels held as a tuple or list
    kept; labels built on demand by a function (which need not pickle) are dropped, so that the
    worker names those rows by their family alone (in a message about a row)."""
    blocks = tuple(
        block
        if block.items is None or isinstance(block.items, tuple | list)
        else replace(block, items=None)
        for block in model.blocks
    )
    if all(new is old for new, old in zip(blocks, model.blocks, strict=True)):
        return model
    return replace(model, blocks=blocks)


def _solve_call(
    backend: Backend,
    model: LinearModel,
    params: SolveParams,
    time_limit: float | None,
    start: FloatArray | None,
    relax: bool,
    *,
    interrupt: threading.Event,
) -> BackendResult:
    """What the child runs: the backend's own :meth:`~portfolio.backends.base.Backend.solve`."""
    return backend.solve(
        model, params, time_limit=time_limit, start=start, interrupt=interrupt, relax=relax
    )


class IsolatedBackend(Backend):
    """A backend whose every solve runs in a child process of its own (see :func:`isolated`).

    Everything but :meth:`solve` is the wrapped backend's: its name, features, option checks.
    """

    name: ClassVar[str] = "isolated"
    description: ClassVar[str] = "a backend run in a child process"
    modules: ClassVar[tuple[str, ...]] = ()
    extra: ClassVar[str] = ""
    features: ClassVar[frozenset[Any]] = frozenset()

    def __init__(self, inner: Backend, *, stop_grace: float = STOP_GRACE) -> None:
        self.inner = inner
        self.stop_grace = stop_grace

    def option_checker(self) -> OptionCheck:
        return self.inner.option_checker()

    def work_limit_options(self) -> dict[str, Any]:
        return self.inner.work_limit_options()

    def check_options(self, options: Any) -> None:
        self.inner.check_options(options)

    def solve(
        self,
        model: LinearModel,
        params: SolveParams,
        *,
        time_limit: float | None,
        start: FloatArray | None = None,
        interrupt: threading.Event | None = None,
        relax: bool = False,
    ) -> BackendResult:
        """The wrapped backend's :meth:`~portfolio.backends.base.Backend.solve`, run in a child
        process: asked to stop on ``interrupt`` (its best plan comes back when it stops within
        :attr:`stop_grace` seconds), killed :data:`KILL_GRACE` seconds past ``time_limit``.
        A killed run answers ``time_limit_no_solution``; a child that could not be started
        falls back to solving here, in this process."""
        began = time.perf_counter()
        self.inner.check_options(params.backend_options)
        kill_at = None if time_limit is None else began + max(0.0, time_limit) + KILL_GRACE
        try:
            done, value = call_in_child(
                _solve_call,
                (self.inner, portable(model), params, time_limit, start, relax),
                {},
                interrupt=interrupt,
                kill_at=kill_at,
                stop_grace=self.stop_grace,
            )
        except ChildFailed as exc:
            if isinstance(exc, NotPortable) or not process_available():
                return self.inner.solve(
                    model, params, time_limit=time_limit, start=start, interrupt=interrupt,
                    relax=relax,
                )
            return BackendResult(
                Status.ERROR, raw_status="child failed", detail=f"{self.name}: {exc}",
                seconds=time.perf_counter() - began,
            )
        if done:
            return cast(BackendResult, value)
        why = "when asked" if value == "interrupted" else "at its time limit"
        return BackendResult(
            Status.TIME_LIMIT_NO_SOLUTION,
            raw_status="killed",
            detail=f"{self.name} did not stop {why}; its process was ended",
            seconds=time.perf_counter() - began,
            hit_limit=True,
        )

    def translate(self, request: SolveRequest) -> Any:  # pragma: no cover - solve overrides
        raise NotImplementedError

    def run(self, request: SolveRequest, translated: Any) -> Any:  # pragma: no cover
        raise NotImplementedError

    def map_back(self, request: SolveRequest, raw: Any) -> BackendResult:  # pragma: no cover
        raise NotImplementedError


_proxies: dict[type[Backend], type[IsolatedBackend]] = {}


def isolated(backend: Backend, *, stop_grace: float = STOP_GRACE) -> Backend:
    """``backend`` with each solve run in a child process that is killed when it does not stop
    (see the module docstring); it keeps the backend's name, features and option checks.

    Args:
        backend: the backend (its class must be importable by the child: not defined in an
            interactive session).
        stop_grace: seconds a run gets to return its best plan after being asked to stop, before
            its process is killed (0 for a run whose answer is not wanted once it is stopped).
    """
    if isinstance(backend, IsolatedBackend):
        return backend
    cls = type(backend)
    proxy = _proxies.get(cls)
    if proxy is None:
        proxy = cast(
            type[IsolatedBackend],
            type(
                f"Isolated{cls.__name__}",
                (IsolatedBackend,),
                {
                    "name": cls.name,
                    "description": cls.description,
                    "modules": cls.modules,
                    "extra": cls.extra,
                    "features": cls.features,
                    "__module__": __name__,
                },
            ),
        )
        _proxies[cls] = proxy
    return proxy(backend, stop_grace=stop_grace)


def process_available() -> bool:
    """True when solver processes can be started here: a POSIX system (the socket is passed as
    an inherited descriptor) and a Python executable (not a frozen application)."""
    return os.name == "posix" and bool(sys.executable) and not getattr(sys, "frozen", False)


def can_isolate(backend: Backend) -> bool:
    """True when a worker can rebuild ``backend``: its class is found under its own name in
    its module (not one defined in ``__main__``, inside a function, or made by ``type()``)."""
    cls = type(backend)
    if cls.__module__ == "__main__" or "<locals>" in cls.__qualname__:
        return False
    found: Any = sys.modules.get(cls.__module__)
    for part in cls.__qualname__.split("."):
        found = getattr(found, part, None)
    return found is cls


def hold(seconds: float, *, interrupt: threading.Event) -> float:
    """A call that does not stop when asked (it sleeps ``seconds`` whatever happens): what a
    solver in a phase without an interrupt callback looks like to the parent."""
    time.sleep(seconds)
    return seconds


def echo(value: Any, *, interrupt: threading.Event) -> Any:
    """A call that answers its argument: the round trip of a solver process, without a solver
    (what isolation costs besides the solve, see the README)."""
    return value
