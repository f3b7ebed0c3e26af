"""`finops collect nvidia-smi`: CSV logs with and without units, restarts, local times, replacement, bad input."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from finops.collect import nvidia_smi
from finops.errors import InputError
from tests.conftest import FIXTURES, one_line_error, query, rows, snapshot

GPU01 = FIXTURES / "nvidia-smi" / "gpu01.csv"
GPU02 = FIXTURES / "nvidia-smi" / "gpu02.csv"
HEADER = (
    "timestamp, name, pci.bus_id, uuid, index, utilization.gpu [%], utilization.memory [%], "
    "memory.total [MiB], memory.used [MiB], power.draw [W]"
)
A0 = "GPU-6f1e2d3c-4b5a-4978-8a9b-0c1d2e3f4a5b"
A1 = "GPU-0a1b2c3d-4e5f-4a7b-8c9d-0e1f2a3b4c5d"
H0 = "GPU-9b8a7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d"
H1 = "GPU-1d2c3b4a-5f6e-4d8c-9b0a-f1e2d3c4b5a6"
A100 = "NVIDIA A100-SXM4-80GB"
H100 = "NVIDIA H100 80GB HBM3"
COLUMNS = (
    "ts, host, resource_id, gpu_uuid, gpu_index, gpu_model, utilization, memory_used_mib, memory_total_mib, power_watts"
)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _no_env_timezone(monkeypatch):
    monkeypatch.delenv("FINOPS_TIMEZONE", raising=False)


def samples(con, where: str = "true"):
    return rows(con, f"SELECT {COLUMNS} FROM gpu_samples WHERE {where} ORDER BY host, ts, gpu_index")


def log(tmp_path: Path, *lines: str, name: str = "node7.csv", header: str | None = HEADER) -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header] if header else []) + "\n" * bool(header) + "\n".join(lines) + "\n")
    return path


def collect(con, *paths: Path, timezone: str | None = "Europe/Berlin", host: str | None = None):
    notices: list[str] = []
    report = nvidia_smi.collect(con, [str(p) for p in paths], timezone, host, notice=notices.append)
    return report, notices


def test_units_in_cells_na_and_a_restart_header(con):
    report, notices = collect(con, GPU01)
    assert (report.source, report.samples, report.hosts, report.new) == ("nvidia-smi", 6, 1, 0)
    assert notices == []
    assert samples(con) == [
        (utc(2025, 1, 10, 8, 0, 0, 512000), "gpu01", None, A0, 0, A100, 97.0, 40960.0, 81920.0, 310.55),
        (utc(2025, 1, 10, 8, 0, 0, 514000), "gpu01", None, A1, 1, A100, 0.0, 4.0, 81920.0, None),
        (utc(2025, 1, 10, 8, 0, 5, 520000), "gpu01", None, A0, 0, A100, 95.0, 40962.0, 81920.0, 305.10),
        (utc(2025, 1, 10, 8, 0, 5, 522000), "gpu01", None, A1, 1, A100, 0.0, 4.0, 81920.0, None),
        (utc(2025, 1, 10, 8, 10, 0, 101000), "gpu01", None, A0, 0, A100, 88.0, 40958.0, 81920.0, 298.02),
        (utc(2025, 1, 10, 8, 10, 0, 103000), "gpu01", None, A1, 1, A100, 12.0, 1024.0, 81920.0, 61.47),
    ]


def test_nounits_log_in_summer_time(con):
    report, _ = collect(con, GPU02)
    assert (report.samples, report.hosts) == (4, 1)
    assert samples(con) == [
        (utc(2025, 7, 15, 12, 0, 0, 250000), "gpu02", None, H0, 0, H100, 100.0, 79023.0, 81559.0, 699.87),
        (utc(2025, 7, 15, 12, 0, 0, 252000), "gpu02", None, H1, 1, H100, 54.0, 30211.0, 81559.0, None),
        (utc(2025, 7, 15, 12, 0, 5, 257000), "gpu02", None, H0, 0, H100, 99.0, 79025.0, 81559.0, 695.12),
        (utc(2025, 7, 15, 12, 0, 5, 259000), "gpu02", None, H1, 1, H100, None, 30211.0, 81559.0, None),
    ]


def test_two_logs_are_two_hosts_and_host_overrides_the_file_name(con):
    report, _ = collect(con, GPU01, GPU02)
    assert (report.samples, report.hosts) == (10, 2)
    assert rows(con, "SELECT host, count(*) FROM gpu_samples GROUP BY 1 ORDER BY 1") == [("gpu01", 6), ("gpu02", 4)]
    collect(con, GPU02, host="dgx-h100-3")
    assert rows(con, "SELECT host, count(*) FROM gpu_samples GROUP BY 1 ORDER BY 1") == [
        ("dgx-h100-3", 4),
        ("gpu01", 6),
        ("gpu02", 4),
    ]


def test_host_is_the_file_name_without_its_suffix():
    assert nvidia_smi.host_of(Path("logs/gpu01.csv")) == "gpu01"
    assert nvidia_smi.host_of(Path("gpu01.log.gz")) == "gpu01"
    assert nvidia_smi.host_of(Path("ip-10-0-1-23.ec2.internal.csv")) == "ip-10-0-1-23.ec2.internal"
    assert nvidia_smi.host_of(Path("gpu07")) == "gpu07"


def test_the_same_log_twice_leaves_the_same_rows(con):
    collect(con, GPU01)
    before = samples(con)
    report, _ = collect(con, GPU01)
    assert (report.samples, report.hosts) == (6, 1)
    assert samples(con) == before
    assert rows(con, "SELECT count(*) FROM ingest_loads WHERE source = 'nvidia-smi'") == [(2,)]


def test_a_longer_copy_of_a_log_replaces_the_shorter_one(con, tmp_path):
    lines = GPU01.read_text().splitlines()
    short = tmp_path / "gpu01.csv"
    short.write_text("\n".join(lines[:3]) + "\n")
    collect(con, short)
    assert rows(con, "SELECT count(*) FROM gpu_samples") == [(2,)]
    collect(con, GPU01)
    assert rows(con, "SELECT count(*), count(DISTINCT (gpu_uuid, ts)) FROM gpu_samples") == [(6, 6)]


def test_a_gzipped_log_reads_like_the_plain_one(con, tmp_path):
    import gzip

    packed = tmp_path / "gpu01.csv.gz"
    packed.write_bytes(gzip.compress(GPU01.read_bytes()))
    collect(con, packed)
    gz = samples(con)
    collect(con, GPU01)
    assert samples(con) == gz and len(gz) == 6


def test_some_columns_only_and_unit_conversion(con, tmp_path):
    path = log(
        tmp_path,
        "2025/01/10 09:00:00.000, 0, 1.5 GiB, 50 %",
        "2025/01/10 09:00:00.001, 1, 2048 KiB, [Not Supported]",
        header="timestamp, index, memory.used [MiB], utilization.gpu [%]",
    )
    report, _ = collect(con, path, timezone="UTC")
    assert report.samples == 2
    assert samples(con) == [
        (utc(2025, 1, 10, 9), "node7", None, None, 0, None, 50.0, 1536.0, None, None),
        (utc(2025, 1, 10, 9, 0, 0, 1000), "node7", None, None, 1, None, None, 2.0, None, None),
    ]


def test_a_restart_with_other_columns_reads_by_the_new_header(con, tmp_path):
    path = log(
        tmp_path,
        "2025/01/10 09:00:00.000, GPU-a, 10 %",
        "timestamp, uuid, power.draw [W], temperature.gpu",
        "2025/01/10 09:00:05.000, GPU-a, 250.5 W, 61",
        header="timestamp, uuid, utilization.gpu [%]",
    )
    report, notices = collect(con, path, timezone="UTC")
    assert report.samples == 2
    assert rows(con, "SELECT ts, gpu_uuid, utilization, power_watts FROM gpu_samples ORDER BY ts") == [
        (utc(2025, 1, 10, 9), "GPU-a", 10.0, None),
        (utc(2025, 1, 10, 9, 0, 5), "GPU-a", None, 250.5),
    ]
    assert notices == ["ignoring nvidia-smi column(s) temperature.gpu: gpu_samples has no place for them"]


def test_a_cut_off_last_line_is_skipped_with_a_notice(con, tmp_path):
    path = log(
        tmp_path,
        "2025/01/10 09:00:00.000, GPU-a, 0, 10 %",
        "2025/01/10 09:00:05.000, GPU-",
        header="timestamp, uuid, index, utilization.gpu [%]",
    )
    report, notices = collect(con, path, timezone="UTC")
    assert report.samples == 1
    assert notices == [f"{path} line 3: skipped a cut-off last line (the log was still being written)"]


def test_repeated_samples_are_kept_once(con, tmp_path):
    a = log(tmp_path, "2025/01/10 09:00:00.000, 0, 10 %", name="a.csv", header="timestamp, index, utilization.gpu [%]")
    b = log(tmp_path, "2025/01/10 09:00:00.000, 0, 20 %", name="b.csv", header="timestamp, index, utilization.gpu [%]")
    report, notices = collect(con, a, b, timezone="UTC", host="h")
    assert report.samples == 1
    assert notices == ["1 sample line(s) repeated a GPU and timestamp; kept the last"]
    assert rows(con, "SELECT utilization FROM gpu_samples") == [(20.0,)]


def test_dst_fall_back_keeps_the_log_in_order(con, tmp_path):
    """Berlin: 02:59:55 CEST, then the clock goes back to 02:00:00 CET; lines of one sample may be ms out of order."""
    path = log(
        tmp_path,
        "2025/10/26 02:30:00.600, 0, 0 %",
        "2025/10/26 02:30:00.598, 1, 0 %",
        "2025/10/26 02:59:55.000, 0, 1 %",
        "2025/10/26 02:00:00.000, 0, 2 %",
        "2025/10/26 02:00:05.000, 0, 3 %",
        "2025/10/26 03:00:00.000, 0, 4 %",
        header="timestamp, index, utilization.gpu [%]",
    )
    collect(con, path)
    assert rows(con, "SELECT ts, utilization FROM gpu_samples ORDER BY ts") == [
        (utc(2025, 10, 26, 0, 30, 0, 598000), 0.0),
        (utc(2025, 10, 26, 0, 30, 0, 600000), 0.0),
        (utc(2025, 10, 26, 0, 59, 55), 1.0),
        (utc(2025, 10, 26, 1, 0, 0), 2.0),
        (utc(2025, 10, 26, 1, 0, 5), 3.0),
        (utc(2025, 10, 26, 2, 0, 0), 4.0),
    ]


# --- errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "lacks"),
    [
        ("name, uuid, utilization.gpu [%]", "timestamp"),
        ("timestamp, name, utilization.gpu [%]", "uuid or index"),
        ("timestamp, uuid, name, pci.bus_id", "a metric (utilization.gpu, memory.used, memory.total, power.draw)"),
    ],
)
def test_a_header_without_what_a_sample_needs_is_refused(con, tmp_path, header, lacks):
    path = log(tmp_path, "x, y, z", header=header)
    with pytest.raises(InputError) as error:
        collect(con, path)
    assert str(error.value) == (
        f"{path} line 1: the nvidia-smi header lacks {lacks}; log with nvidia-smi --query-gpu=timestamp,name,"
        "pci.bus_id,uuid,index,utilization.gpu,utilization.memory,memory.total,memory.used,power.draw --format=csv -l 5"
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("2025/01/10 09:00:00.000, GPU-a, 0, ninety %, 1 MiB", "line 2: utilization.gpu 'ninety %' is not a number"),
        (
            "2025/01/10 09:00:00.000, GPU-a, 0, 90 %, 40 MB",
            "line 2: memory.used '40 MB' has unit 'MB'; expected MiB or GiB or KiB",
        ),
        ("2025/01/10 09:00:00.000, GPU-a, 0, 90 W, 1 MiB", "line 2: utilization.gpu '90 W' has unit 'W'; expected %"),
        ("2025/01/10 09:00:00.000, GPU-a, zero, 90 %, 1 MiB", "line 2: index 'zero' is not a GPU index"),
        (
            "10.01.2025 09:00:00, GPU-a, 0, 90 %, 1 MiB",
            r"line 2: timestamp '10.01.2025 09:00:00' is not like 2025/01/10",
        ),
        ("[N/A], GPU-a, 0, 90 %, 1 MiB", "line 2: the timestamp is missing"),
        ("2025/01/10 09:00:00.000, [N/A], [N/A], 90 %, 1 MiB", r"line 2: the line names no GPU \(uuid and index"),
    ],
)
def test_garbage_is_refused_naming_the_line(con, tmp_path, line, message):
    collect(con, GPU01)
    path = log(tmp_path, line, header="timestamp, uuid, index, utilization.gpu [%], memory.used [MiB]")
    with pytest.raises(InputError, match=message):
        collect(con, path)
    assert rows(con, "SELECT count(*) FROM gpu_samples") == [(6,)]


def test_a_ragged_line_mid_log_is_refused(con, tmp_path):
    path = log(
        tmp_path,
        "2025/01/10 09:00:00.000, 0",
        "2025/01/10 09:00:05.000, 0, 1 %",
        header="timestamp, index, utilization.gpu [%]",
    )
    with pytest.raises(InputError, match="line 2: 2 fields where the header has 3"):
        collect(con, path)


def test_a_log_without_header_is_refused(con, tmp_path):
    path = log(tmp_path, "2025/01/10 09:00:00.000, GPU-a, 0, 90 %", header=None)
    with pytest.raises(
        InputError, match=r"line 1: no header line before the samples; log with --format=csv \(not noheader\)"
    ):
        collect(con, path)


def test_missing_timezone_is_one_error_and_changes_nothing(run, db):
    assert run("collect", "nvidia-smi", str(GPU01), "--timezone", "Europe/Berlin").exit_code == 0
    before = snapshot(db)
    assert query(db, "SELECT count(*) FROM gpu_samples") == [(6,)]
    message = one_line_error(run("collect", "nvidia-smi", str(GPU02)))
    assert message.startswith("Error: nvidia-smi writes local times without a zone: pass --timezone AREA/CITY")
    assert snapshot(db) == before
    assert query(db, "SELECT count(*) FROM gpu_samples") == [(6,)]


def test_cli_collects_and_reports(run, db):
    result = run("collect", "nvidia-smi", str(GPU01), str(GPU02), "--timezone", "Europe/Berlin", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "source,workloads_new,workloads_updated,placements,gpu_samples,hosts",
        "nvidia-smi,0,0,0,10,2",
    ]
    assert query(db, "SELECT count(*), round(sum(power_watts), 2) FROM gpu_samples") == [(10, 2370.13)]
