"""The old home of the bulk download's report types, now :mod:`tradedata.download.report`.

``from tradedata.download_report import DownloadReport, SeriesResult`` keeps working; new code
imports them from :mod:`tradedata.download`.
"""

from tradedata.download.report import DownloadReport, SeriesResult

__all__ = ["DownloadReport", "SeriesResult"]
