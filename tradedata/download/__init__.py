"""Bulk download: many symbols and timeframes of one exchange into the cache, concurrently.

::

    from tradedata.download import download
    report = download(["BTC/USDT", "ETH/USDT"], ["1m", "1h"], days=30, exchange="binance")
    print(report)          # one row per series: bars fetched, stored, source, quality score

or ``tradedata download --exchange binance --symbols BTC/USDT,ETH/USDT --timeframes 1m,1h
--days 30`` (``--all-symbols [--quote USDT]`` takes every active spot market).

Each series is fetched by :meth:`~tradedata.manager.DataManager.fetch_missing`, which asks only
for what the coverage record lacks and writes the pages in batches as they arrive (at most
:data:`~tradedata.fetching.pages.FLUSH_BARS` bars held per worker), so memory stays bounded and
a run that is interrupted (Ctrl-C, a crash) resumes from the last batch stored.
All workers share the exchange's provider and so its token bucket: concurrency buys overlap of
network waits, never more than the exchange's published rate limit.

The parts, one idea each:

- :mod:`~tradedata.download.bulk`: :func:`download`, from its arguments to its report;
- :mod:`~tradedata.download.plan`: the range, the symbols and the plan (:func:`plan_series`),
  checked before anything is fetched;
- :mod:`~tradedata.download.workers`: the concurrent workers, the progress bar and the overall
  deadline they share;
- :mod:`~tradedata.download.report`: the report types, :class:`SeriesResult` and
  :class:`DownloadReport` (also importable from their old home, :mod:`tradedata.download_report`);
- :mod:`~tradedata.download.cli`: the ``tradedata download`` command.
"""

from tradedata.download.bulk import download
from tradedata.download.cli import add_cli_arguments, download_cli_main
from tradedata.download.plan import count_bars as _count_bars  # noqa: F401  (its old name)
from tradedata.download.plan import plan_series
from tradedata.download.report import DownloadReport, SeriesResult

__all__ = [
    "DownloadReport",
    "SeriesResult",
    "add_cli_arguments",
    "download",
    "download_cli_main",
    "plan_series",
]
