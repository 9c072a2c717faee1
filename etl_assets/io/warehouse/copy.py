"""Rows into Postgres with ``COPY ... FROM STDIN`` in CSV.

The Arrow table is written as CSV batch by batch by pyarrow, in a thread one batch ahead of
the network, and streamed: a few batches of text in memory, whatever the table's size.
"""

import io
import queue
import threading
from collections.abc import Iterable, Iterator

import pyarrow as pa
import pyarrow.csv as pa_csv
from psycopg2 import sql

COPY_BATCH_ROWS = 50_000  # rows per CSV chunk: a few MB of text in memory at a time
_COPY_READ_BYTES = 1 << 20  # what copy_expert asks per read(); one network message each


def csv_chunks(table: pa.Table, batch_rows: int = COPY_BATCH_ROWS) -> Iterator[bytes]:
    """The table as headerless CSV, ``batch_rows`` rows per chunk.

    pyarrow writes a null as an empty field and an empty string as ``""``, which is how
    Postgres's CSV format tells NULL from ''.
    """
    options = pa_csv.WriteOptions(include_header=False)
    for batch in table.to_batches(max_chunksize=batch_rows):
        sink = io.BytesIO()
        pa_csv.write_csv(batch, sink, options)
        yield sink.getvalue()


def produced_ahead(chunks: Iterator[bytes], depth: int = 2) -> Iterator[bytes]:
    """Yield ``chunks`` while a thread already builds the next ones.

    pyarrow writes CSV and psycopg2 sends it without holding the GIL, so the next chunk is
    made while the server parses the current one. An error in the thread is raised here;
    closing this generator early stops the thread.
    """
    ready: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for chunk in chunks:
                if not _put_unless_stopped(ready, chunk, stop):
                    return
            _put_unless_stopped(ready, _END, stop)
        except BaseException as error:  # handed to the consumer, raised there
            _put_unless_stopped(ready, error, stop)

    worker = threading.Thread(target=produce, name="warehouse-csv", daemon=True)
    worker.start()
    try:
        while (item := ready.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()


_END = object()  # the producer's "no more chunks"


def _put_unless_stopped(ready: queue.Queue, item: object, stop: threading.Event) -> bool:
    while not stop.is_set():
        try:
            ready.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


class ChunkStream:
    """A read()-able file over an iterator of byte chunks: what copy_expert pulls from."""

    def __init__(self, chunks: Iterable[bytes]):
        self._chunks = iter(chunks)
        self._pending = memoryview(b"")

    def read(self, size: int = -1) -> bytes:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return b""
            self._pending = memoryview(chunk)
        piece = self._pending if size < 0 else self._pending[:size]
        self._pending = self._pending[len(piece) :]
        return bytes(piece)


def copy_into(cursor, target: sql.Composable, table: pa.Table, freeze: bool = False) -> None:
    """Stream ``table`` into ``target`` (its columns by name) with COPY FROM STDIN."""
    if table.num_rows == 0:
        return  # nothing to send; a frame without columns could not even name a column list
    columns = sql.SQL(", ").join(sql.Identifier(name) for name in table.column_names)
    # FREEZE writes rows already frozen (no later vacuum pass); only for a table created in
    # this transaction, i.e. the stage table.
    options = sql.SQL("FORMAT csv, FREEZE" if freeze else "FORMAT csv")
    statement = sql.SQL("COPY {} ({}) FROM STDIN WITH ({})").format(target, columns, options)
    stream = produced_ahead(csv_chunks(table))
    try:
        cursor.copy_expert(statement, ChunkStream(stream), size=_COPY_READ_BYTES)
    finally:
        stream.close()  # the COPY may stop early (server error): stop the producer too
