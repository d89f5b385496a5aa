"""Quality report and repair of a damaged CSV (examples/data/btcusdt-1h-2024.csv: 8 bars
missing and one bad print), then the report of the cached series."""

import tempfile
from pathlib import Path

import tradedata
from tradedata import DataManager

frame = tradedata.read_csv(Path(__file__).parent / "data" / "btcusdt-1h-2024.csv", "1h")
report = tradedata.validate(frame, "1h", calendar="24/7")
print(report)
print("gaps:", [(f"{g.start:%Y-%m-%d %H:%M}", g.missing) for g in report.gaps])
print("outliers:", [f"{t:%Y-%m-%d %H:%M}" for t in report.outliers])

# drop the bad print, then fill the holes (filled rows are flagged in the "filled" column)
clean = tradedata.repair(frame.drop(report.outliers), "1h", fill_gaps=True)
print(
    f"repaired: {len(clean)} bars, {int(clean['filled'].sum())} filled, score "
    f"{tradedata.validate(clean.drop(columns='filled'), '1h', calendar='24/7').score:.4f}"
)

with tempfile.TemporaryDirectory() as tmp, DataManager(cache_dir=tmp) as dm:
    dm.import_frame(frame, "BTC/USDT", "1h", source="csv")
    print(f"cached series score {dm.quality('BTC/USDT', '1h').score:.4f}")
