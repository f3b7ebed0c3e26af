"""A month of synthetic billing for an ML organisation, written as FOCUS 1.2 CSV files.

Acme ML trains and serves models on two clouds; every id is made up.

- AWS, payer account 111111111111 ("Acme ML (payer)"): a Compute Savings Plan committing the EC2
  spend of the median hour (so busy hours spill to on-demand and quiet hours leave some unused),
  and Business Support. ml-research (222222222222) trains on p4d, p5 and g5 instances and SageMaker
  training jobs, runs g5 notebooks, keeps a p4d box up between runs and forgets an untagged one;
  ml-platform (333333333333) serves chat-api and embed-api on g5 instances and summarize-api on a
  SageMaker endpoint; data (444444444444) holds the datasets and pays for transfer.
- GCP, billing account 01ABCD-234EFG-56789H ("Acme ML GCP"): acme-research trains on a2 (A100) and
  a3 (H100) instances and Vertex AI custom jobs; acme-serving runs rerank-api on a g2 (L4)
  instance. A promotional credit offsets part of the bill.

Teams nlp, vision and research tag training instances with team, project and training_run;
platform tags deployments; idle boxes carry only their team; some spend is untagged. Buckets
and transfer are billed daily, compute hourly, and every account pays tax at month end.

`generate` is deterministic in (rows, seed, month): the organisation grows with `rows`, and
object-storage and network lines fill the month up to exactly `rows` rows. `generate_records`
writes, for the same arguments, the workload manifest and DCGM telemetry that match that bill.
"""

from __future__ import annotations

from finops.demo.files import MIN_ROWS, generate
from finops.demo.hourly import SP_RATE as SP_RATE
from finops.demo.records import generate_records
from finops.demo.rows import HEADER

__all__ = ["HEADER", "MIN_ROWS", "generate", "generate_records"]
