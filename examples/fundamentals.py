"""Company fundamentals merged field by field across providers (``DataManager.get_fundamentals``).

Needs a key for FMP (``FMP_API_KEY``) for the full set; Yahoo needs none. The tests run this
script offline against recorded-payload fake servers, by pointing each provider elsewhere with
``TRADEDATA_<PROVIDER>_URL`` (e.g. ``TRADEDATA_FMP_URL=http://127.0.0.1:9001``).
"""

import os
import tempfile

from tradedata import DataManager

with (
    tempfile.TemporaryDirectory() as tmp,
    DataManager(cache_dir=os.environ.get("DATA_CACHE_DIR", tmp)) as dm,
):
    f = dm.get_fundamentals("AAPL")
    print(f"{f.company_name} ({f.sector}): market cap {f.market_cap:,.0f}, P/E {f.pe_ratio}")
    print("fields from:", f.provider_info["field_sources"])
    again = dm.get_fundamentals("AAPL")  # served from the cache until its TTL runs out
    print("cached:", again.market_cap == f.market_cap)
