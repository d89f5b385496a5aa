"""The store verbs of the ``tradedata`` command: ``cache info|verify|export|import|clear|delete``
and ``store sync``.

``cache info`` and ``cache delete`` print what :mod:`tradedata.ops` formats; after records
arrive (``cache import``, ``store sync``) stored quality judged with other splits than the
store's actions is recomputed (see :mod:`tradedata.rescoring`).
"""

from __future__ import annotations

import argparse
from typing import Any

from tradedata import ops
from tradedata.commands.shared import exchange_arg, manager, print_json, progress, usage

__all__ = ["cmd_cache", "cmd_store", "register"]


def _cache_verify(args: argparse.Namespace, cache: Any) -> int:
    """Exit 1 when this run found (and quarantined) damage, 0 when the cache is healthy now;
    quarantines of earlier runs or reads are listed either way."""
    earlier = set(cache.quarantined())
    damage = cache.verify(progress=progress("verify"))
    found = [d for d in damage if d not in earlier]
    if args.json:
        print_json([{**d.__dict__, "found_now": d not in earlier} for d in damage])
    else:
        for d in damage:
            when = "damaged" if d not in earlier else "quarantined earlier"
            kept = d.path or "no data kept"
            print(f"{when}: {d.symbol} {d.timeframe} {d.year}: {d.reason} ({kept})")
        if not found:
            print("cache OK" + (f" ({len(damage)} quarantined earlier)" if damage else ""))
    return 1 if found else 0


def _cache_transfer(args: argparse.Namespace, dm: Any) -> int:
    if not args.directory:
        raise usage(f"cache {args.action} needs a DIR")
    if args.action == "export":
        count = dm.cache.export_tree(args.directory, progress=progress("export"))
    else:
        count = dm.cache.import_tree(args.directory, progress=progress("import"))
    print(f"{args.action}ed {count} partitions ({args.directory}){_rescored(args, dm)}")
    return 0


def _rescored(args: argparse.Namespace, dm: Any) -> str:
    """After records arrived (import, sync): stored quality judged with other splits than the
    store's actions is recomputed from the stored bars (see tradedata.rescoring)."""
    if args.action == "export":
        return ""
    done = int(dm.rescore())
    return f"; {done} quality report(s) rescored for new splits" if done else ""


def _cache_clear(args: argparse.Namespace, cache: Any) -> int:
    if not args.yes:
        raise usage("cache clear removes everything: add --yes")
    cache.clear()
    print(f"cleared {cache.location}")
    return 0


def cmd_cache(args: argparse.Namespace) -> int:
    """Cache maintenance: info, verify, export, import, clear, delete."""
    dm = manager(args)
    if args.action == "delete":  # what the rules pick for the symbol: the manager knows
        return ops.cache_delete(args, dm)
    if args.action in ("export", "import"):
        return _cache_transfer(args, dm)
    action = {
        "info": ops.cache_info,
        "verify": _cache_verify,
        "clear": _cache_clear,
    }[args.action]
    return action(args, dm.cache)


def cmd_store(args: argparse.Namespace) -> int:
    """Copy what the target store lacks from the source store (resumable)."""
    from tradedata.cache.opening import open_store
    from tradedata.cache.sync import sync_stores

    if args.source == args.target:
        raise usage("store sync needs two different stores")
    with open_store(args.source) as src, open_store(args.target) as dst:
        report = sync_stores(src, dst, progress=progress("sync"))
        where = f"{src.location} -> {dst.location}"
        changed = report.actions_copied or report.partitions_copied
        rescored = _rescore_target(args, dst) if changed else 0
    if args.json:
        print_json({"from_to": where, **report.__dict__, "quality_rescored": rescored})
    else:
        more = f"; {rescored} quality report(s) rescored for new splits" if rescored else ""
        print(f"synced {where}: {report}{more}")
    return 0


def _rescore_target(args: argparse.Namespace, store: Any) -> int:
    """The target's stored quality judged with other splits than its (new) actions,
    recomputed from its bars (see tradedata.rescoring)."""
    from tradedata import stats
    from tradedata.manager import DataManager

    dm = DataManager(store=store, config=getattr(args, "config", None))
    try:
        return int(dm.rescore())
    finally:  # the store itself is closed by its owner (the caller's ``with``)
        stats.untrack(store.directory)


def register(sub: Any) -> None:
    """Add the ``cache`` and ``store`` verbs to the ``tradedata`` sub-parsers."""
    p = sub.add_parser(
        "cache",
        help="cache info, verify, export DIR, import DIR, delete SYMBOL [TF], clear",
        epilog="examples:\n  tradedata cache info\n  tradedata cache delete BTC/USDT 1m\n"
        "  tradedata cache export /tmp/tree",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("action", choices=["info", "verify", "export", "import", "clear", "delete"])
    p.add_argument("directory", nargs="?", metavar="DIR|SYMBOL", help="for export/import/delete")
    p.add_argument("timeframe", nargs="?", help="for delete: only this timeframe")
    p.add_argument("--yes", action="store_true", help="confirm 'clear'")
    p.add_argument("--json", action="store_true")
    exchange_arg(p)
    p.set_defaults(func=cmd_cache)

    p = sub.add_parser("store", help="store sync --from DIR|URL --to DIR|URL")
    p.add_argument("action", choices=["sync"])
    p.add_argument("--from", dest="source", required=True, metavar="DIR|URL")
    p.add_argument("--to", dest="target", required=True, metavar="DIR|URL")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_store)
