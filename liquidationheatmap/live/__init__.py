"""Live mode: record Binance USD-M market streams into the lake, publish on Redis, draw pages live.

- `streams`: stream names, the combined-stream URL, and frames parsed into typed events.
- `aggregate`: per-second price summaries, 1-minute mark-price klines, 5-minute open-interest rows,
  funding settlements, built from the events.
- `sink`: buffered rows rolled into lake Parquet files (atomic publish + ingest manifest), and the
  forceOrder truth files.
- `rest`: bounded REST polling with backoff and `Retry-After`.
- `publisher`: Redis pub/sub that survives Redis going away.
- `recorder`: the websocket client tying it together (`liquidationheatmap record`).
- `fake_exchange`: a Binance-compatible server on 127.0.0.1 replaying the simulator's output.
- `session`: `liquidationheatmap live` (record + build every 5 minutes + serve) and its Redis.

See docs/live.md.
"""
