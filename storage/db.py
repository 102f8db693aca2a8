"""Create engines and sessions for SQLite and PostgreSQL alike."""

import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DisconnectionError, IntegrityError
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, create_engine

Row = TypeVar("Row")

# SQLite lets one transaction at a time write (and every transaction here starts as a writer). Its
# busy handler makes the others sleep and poll, so under load a waiting request can lose its turn
# again and again (seconds of tail latency); taking turns on a lock in the process hands over at
# once, in about arrival order. See BENCHMARKS.md.
_SQLITE_TURNS: "weakref.WeakKeyDictionary[Engine, threading.RLock]" = weakref.WeakKeyDictionary()


# A request that finds every connection of its process busy waits this long for one, then fails
# (sqlalchemy.exc.TimeoutError) rather than opening more than the server allows.
POOL_WAIT_SECONDS = 10.0
DEFAULT_POOL_SIZE = 20
# A PostgreSQL connection unused this long is checked before it serves again.
PING_AFTER_IDLE_SECONDS = 10.0
_IDLE_SINCE = "focusbot_idle_since"


def make_engine(url: str, pool_size: int = DEFAULT_POOL_SIZE) -> Engine:
    """Create an engine; SQLite gets WAL mode, foreign keys and a busy timeout.

    A PostgreSQL engine holds at most `pool_size` connections, so that N processes hold at most
    N × pool_size of the server's `max_connections`.
    """
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    engine = create_engine(url, pool_size=pool_size, max_overflow=0, pool_timeout=POOL_WAIT_SECONDS)
    _ping_after_idling(engine)
    return engine


def _ping_after_idling(engine: Engine) -> None:
    """Check a pooled connection with a round trip before use, if it sat unused for a while.

    A database restart or a firewall may have closed it meanwhile. A connection handed on at
    once is not checked: under load that round trip (SQLAlchemy's pool_pre_ping) was a quarter of
    a request's time. A connection lost under load fails its request, and the pool drops the rest.
    """

    @event.listens_for(engine, "checkin")
    def _note_idle(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise DisconnectionError(type(error).__name__) from error  # the pool connects anew


def _sqlite_engine(url: str) -> Engine:
    in_memory = url in ("sqlite://", "sqlite:///:memory:")
    extra: dict[str, Any] = {"poolclass": StaticPool} if in_memory else {}
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **extra)
    _SQLITE_TURNS[engine] = threading.RLock()

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, begin transactions: otherwise a savepoint taken before
        # the first write commits on its own and survives the outer rollback.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    # IMMEDIATE takes the write lock up front, so concurrent writers wait their turn (busy
    # timeout) instead of failing when a read transaction tries to become a write. Sent as the
    # dialect's own begin, straight to the driver: as a statement run from the "begin" event it
    # went through SQLAlchemy's statement machinery, which cost as much as a query, per transaction.
    engine.dialect.do_begin = _begin_immediate  # type: ignore[method-assign]
    return engine


def _begin_immediate(dbapi_connection: Any) -> None:
    dbapi_connection.execute("BEGIN IMMEDIATE")


def engine_of(session: Session) -> Engine:
    """Return the engine a session works with (whose caches are this database's)."""
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """Open a session that commits when the block succeeds and rolls back when it fails."""
    with _turn(engine), Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def connection_scope(engine: Engine) -> Iterator[Connection]:
    """Open a connection in a transaction (no ORM session): commits on success, else rolls back."""
    with _turn(engine), engine.begin() as connection:
        yield connection


def _turn(engine: Engine) -> AbstractContextManager[Any]:
    """Wait for the SQLite database's turn (one session of the process at a time)."""
    return _SQLITE_TURNS.get(engine) or nullcontext()


def add_or_take_existing(
    session: Session, row: Row, existing: Callable[[], Row | None]
) -> tuple[Row, bool]:
    """Add a row unless a concurrent request just added its twin; return the row kept and if new."""
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        found = existing()
        if found is None:
            raise
        return found, False
    return row, True
