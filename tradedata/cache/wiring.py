"""How an embedded :class:`~tradedata.cache.store.Cache` is put together: its collaborators,
one per idea, wired over one :class:`~tradedata.cache.backend.Backend`.

:func:`assemble` opens the database in the cache folder, builds the collaborators in the
order they depend on each other and migrates what was written before sources existed. The
``Cache`` keeps the :class:`Parts` and hands its public methods over to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tradedata.cache.actions import ActionsStore
from tradedata.cache.backend import Backend
from tradedata.cache.catalog import Catalog
from tradedata.cache.coverage import Coverage
from tradedata.cache.fundamentals import FundamentalsStore
from tradedata.cache.integrity import Integrity, Quarantine
from tradedata.cache.migrate import migrate
from tradedata.cache.reader import Reader
from tradedata.cache.tree import Tree
from tradedata.cache.writer import Writer

__all__ = ["Parts", "assemble"]


@dataclass(frozen=True)
class Parts:
    """The collaborators of one embedded cache (all sharing :attr:`db`)."""

    #: the database: keys, transactions, data files
    db: Backend
    #: fetched spans per series
    coverage: Coverage
    #: series, years and partition metadata
    catalog: Catalog
    #: damaged partitions moved aside
    quarantine: Quarantine
    #: reading partitions
    reader: Reader
    #: verification, garbage collection, the size limit and eviction
    integrity: Integrity
    #: merge-writes, rescoring, deletion
    writer: Writer
    #: fundamentals entries with expiry
    fundamentals: FundamentalsStore
    #: splits and dividends per symbol
    actions: ActionsStore
    #: plain-file export and import
    tree: Tree


def assemble(directory: Path, quarantine_dir: Path, limit: int) -> Parts:
    """The collaborators of the cache in ``directory`` (created already), damaged partitions
    going to ``quarantine_dir``, at most ``limit`` bytes; a store written before sources
    existed is migrated first."""
    db = Backend(directory)
    coverage = Coverage(db)
    catalog = Catalog(db, coverage)
    quarantine = Quarantine(db, catalog, quarantine_dir)
    reader = Reader(db, catalog, quarantine)
    integrity = Integrity(db, catalog, quarantine, reader.load_rows, limit)
    fundamentals = FundamentalsStore(db)
    actions = ActionsStore(db)
    tree = Tree(db, catalog, coverage, fundamentals, reader, integrity, actions)
    writer = Writer(db, catalog, coverage, reader, integrity)
    migrate(db, catalog, reader.load_rows)  # written before sources existed
    return Parts(
        db=db, coverage=coverage, catalog=catalog, quarantine=quarantine, reader=reader,
        integrity=integrity, writer=writer, fundamentals=fundamentals, actions=actions, tree=tree,
    )  # fmt: skip
