"""What can be checked of the Kubernetes deployment without a cluster, helm or docker.

- deploy/k8s/values.yaml: the instance config Dagster's Helm chart writes from these values
  (run launcher, run coordinator, Postgres storage, run monitoring and retries) passes
  Dagster's own config validation, and every class it names imports;
- the user-code deployment: its environment (with made-up secret values) loads the code
  location, on the k8s_job_executor with one run per backfill day, and the gRPC arguments
  name the module the image serves;
- deploy/Dockerfile: its install command is the documented one, and running it on the files
  the Dockerfile copies, in a fresh virtualenv, gives a package that loads the code location.

`render_instance` writes the instance config the way the chart's templates do for the values
used here (templates/configmap-instance.yaml and helpers/instance/*.tpl of the chart); helm
itself is not run.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import venv
from pathlib import Path

import dagster as dg
import yaml
from dagster._config import process_config, resolve_to_config_type, validate_config
from dagster._core.instance.config import dagster_instance_config
from dagster._serdes.config_class import class_from_code_pointer

REPO = Path(__file__).resolve().parents[2]
VALUES = REPO / "deploy" / "k8s" / "values.yaml"
DOCKERFILE = REPO / "deploy" / "Dockerfile"
NAMESPACE = "etl"  # the release namespace of the documented `helm upgrade --install`
SECRETS = {  # made-up values of the secrets the values and docs name
    "DAGSTER_PG_PASSWORD": "made-up-pg-password-7f3a",
    "ETL_PII_HASH_KEY": "made-up-pii-key-7f3a",
    "ETL_WAREHOUSE_URL": "postgresql://etl:made-up-7f3a@warehouse:5432/warehouse",
    "AWS_ACCESS_KEY_ID": "made-up-key-id-7f3a",
    "AWS_SECRET_ACCESS_KEY": "made-up-secret-7f3a",
}
CHART_ENV = {  # what the chart sets on the pods it runs
    "DAGSTER_HOME": "/opt/dagster/dagster_home",
    "DAGSTER_K8S_INSTANCE_CONFIG_MAP": "dagster-instance",
    "DAGSTER_K8S_PG_PASSWORD_SECRET": "dagster-postgresql-secret",
    "DAGSTER_K8S_PIPELINE_RUN_ENV_CONFIGMAP": "dagster-pipeline-env",
}


def _values() -> dict:
    return yaml.safe_load(VALUES.read_text())


def _names(entries: list) -> list[str]:
    return [entry["name"] for entry in entries if entry.get("name")]


def render_instance(values: dict) -> dict:
    """The `dagster.yaml` of the chart's instance ConfigMap, for the values used here."""
    pg = values["postgresql"]
    postgres = {
        "postgres_db": {
            "username": pg["postgresqlUsername"],
            "password": {"env": "DAGSTER_PG_PASSWORD"},
            "hostname": pg["postgresqlHost"],
            "db_name": pg["postgresqlDatabase"],
            "port": pg["service"]["port"],
            "params": pg["postgresqlParams"],
            "scheme": pg["postgresqlScheme"],
        }
    }
    launcher = values["runLauncher"]
    assert launcher["type"] == "K8sRunLauncher"
    k8s = launcher["config"]["k8sRunLauncher"]
    launcher_config = {
        "load_incluster_config": k8s["loadInclusterConfig"],
        "job_namespace": k8s.get("jobNamespace") or NAMESPACE,
        "image_pull_policy": k8s["imagePullPolicy"],
        "service_account_name": "dagster",
        "dagster_home": {"env": "DAGSTER_HOME"},
        "instance_config_map": {"env": "DAGSTER_K8S_INSTANCE_CONFIG_MAP"},
        "postgres_password_secret": {"env": "DAGSTER_K8S_PG_PASSWORD_SECRET"},
        "env_config_maps": [
            {"env": "DAGSTER_K8S_PIPELINE_RUN_ENV_CONFIGMAP"},
            *_names(k8s["envConfigMaps"]),
        ],
    }
    for key, name in (
        ("envSecrets", "env_secrets"),
        ("envVars", "env_vars"),
        ("volumeMounts", "volume_mounts"),
        ("volumes", "volumes"),
    ):
        if k8s.get(key):
            launcher_config[name] = _names(k8s[key]) if key == "envSecrets" else k8s[key]
    daemon = values["dagsterDaemon"]
    coordinator = daemon["runCoordinator"]
    assert coordinator["enabled"] and coordinator["type"] == "CustomRunCoordinator"
    custom = coordinator["config"]["customRunCoordinator"]
    monitoring, retries = daemon["runMonitoring"], daemon["runRetries"]
    return {
        "scheduler": {"module": "dagster._core.scheduler", "class": "DagsterDaemonScheduler"},
        "schedule_storage": {
            "module": "dagster_postgres.schedule_storage",
            "class": "PostgresScheduleStorage",
            "config": postgres,
        },
        "run_launcher": {
            "module": "dagster_k8s",
            "class": "K8sRunLauncher",
            "config": launcher_config,
        },
        "run_storage": {
            "module": "dagster_postgres.run_storage",
            "class": "PostgresRunStorage",
            "config": postgres,
        },
        "event_log_storage": {
            "module": "dagster_postgres.event_log",
            "class": "PostgresEventLogStorage",
            "config": postgres,
        },
        "run_coordinator": {
            "module": custom["module"],
            "class": custom["class"],
            "config": custom["config"],
        },
        "run_monitoring": {
            "enabled": monitoring["enabled"],
            "start_timeout_seconds": monitoring["startTimeoutSeconds"],
            "poll_interval_seconds": monitoring["pollIntervalSeconds"],
        },
        "run_retries": {"enabled": retries["enabled"], "max_retries": retries["maxRetries"]},
        "telemetry": {"enabled": values["telemetry"]["enabled"]},
    }


def test_instance_config_of_the_values_passes_dagster_validation(tmp_path, monkeypatch):
    instance = render_instance(_values())
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(instance))
    config, _ = dagster_instance_config(str(tmp_path))  # the instance schema, as Dagster loads
    for name, value in {**CHART_ENV, **SECRETS}.items():
        monkeypatch.setenv(name, value)
    classes = ("scheduler", "schedule_storage", "run_launcher", "run_storage")
    for section in (*classes, "event_log_storage", "run_coordinator"):
        block = config[section]
        klass = class_from_code_pointer(block["module"], block["class"])  # imports
        # What ConfigurableClassData.rehydrate does when the instance loads: validate the
        # class's config and resolve its `env:` values.
        result = process_config(
            resolve_to_config_type(klass.config_type()), block.get("config") or {}
        )
        assert result.success, (section, result.errors)
    launcher = config["run_launcher"]["config"]
    assert launcher["job_namespace"] == NAMESPACE and launcher["load_incluster_config"] is True
    limits = config["run_coordinator"]["config"]["tag_concurrency_limits"]
    assert {limit["key"] for limit in limits} == {
        "dagster/asset_partition_range_start",
        "dagster/partition",
    }
    assert config["run_retries"] == {"enabled": True, "max_retries": 2}


def _deployment(values: dict) -> dict:
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    return deployment


def test_user_deployment_environment_loads_the_code_location_on_k8s(tmp_path):
    from dagster_k8s import k8s_job_executor

    from etl_assets.definitions import build_definitions
    from etl_assets.settings import load_settings

    values = _values()
    deployment = _deployment(values)
    env = {entry["name"]: entry["value"] for entry in deployment["env"]}
    assert env["ETL_EXECUTOR"] == "k8s" and env["ETL_ENV"] == "prod"
    assert env["ETL_LAKE_URL"].startswith("s3://")
    assert _names(deployment["envSecrets"]) == ["etl-assets-env"]
    mounts = {mount["mountPath"] for mount in deployment["volumeMounts"]}
    assert env["ETL_DATA_DIR"] in mounts  # landing files on the shared volume
    assert deployment["includeConfigInLaunchedRuns"] == {"enabled": True}

    settings = load_settings({**env, **SECRETS, "ETL_DATA_DIR": str(tmp_path)})
    defs = build_definitions(settings)
    job = defs.resolve_job_def("medallion")
    assert job.executor_def.name == "k8s"
    result = validate_config(job.executor_def.config_schema.config_type, {})
    assert result.success, result.errors  # its config comes from the run launcher
    assert k8s_job_executor.name == job.executor_def.name
    daily = defs.resolve_assets_def(dg.AssetKey(["bronze", "orders"]))
    assert daily.backfill_policy.max_partitions_per_run == 1

    module = deployment["dagsterApiGrpcArgs"]
    assert module == ["-m", "etl_assets.definitions"]
    cmd = re.search(r"^CMD (\[.*\])$", DOCKERFILE.read_text(), re.M).group(1)
    assert yaml.safe_load(cmd)[-2:] == module
    workspace = yaml.safe_load((REPO / "workspace.yaml").read_text())
    assert workspace["load_from"][0]["python_module"]["module_name"] == module[1]


def _dockerfile() -> tuple[str, list[tuple[str, str]], str]:
    """WORKDIR, the COPY instructions (source, destination) and the pip install command."""
    text = DOCKERFILE.read_text()
    workdir = re.search(r"^WORKDIR (\S+)$", text, re.M).group(1)
    copies = []
    for line in re.findall(r"^COPY (.+)$", text, re.M):
        *sources, destination = line.split()
        copies += [(source, destination) for source in sources]
    (install,) = re.findall(r"^RUN (pip install .+)$", text, re.M)
    return workdir, copies, install


INSTALL_COMMAND = "pip install '.[k8s,s3]'"


def test_dockerfile_installs_with_the_documented_command():
    _, copies, install = _dockerfile()
    assert install == INSTALL_COMMAND
    for doc in ("docs/reference.md", "docs/scale-out.md"):
        assert INSTALL_COMMAND in (REPO / doc).read_text(), doc
    sources = {source for source, _ in copies}
    assert {"pyproject.toml", "README.md", "etl_assets", "deploy"} <= sources


def _filtered_site_packages(target: Path) -> Path:
    """This venv's installed distributions, without etl_assets itself (links)."""
    import sysconfig

    site = Path(sysconfig.get_paths()["purelib"])
    target.mkdir()
    for entry in site.iterdir():
        if entry.name.startswith(("etl_assets", "__editable__", "_etl_assets")):
            continue
        if entry.suffix == ".pth":
            continue
        (target / entry.name).symlink_to(entry)
    return target


def test_dockerfile_install_gives_a_package_that_loads(tmp_path):
    """The Dockerfile's COPY and RUN steps, replayed in a fresh virtualenv.

    Its dependencies are this environment's (linked in, so nothing is downloaded but the
    build backend); the package itself is built from the copied files only and installed
    for real, then the code location is imported from that installed copy."""
    workdir, copies, install = _dockerfile()
    context = tmp_path / "image" / workdir.lstrip("/")
    context.mkdir(parents=True)
    for source, destination in copies:
        target = context / destination
        if destination.endswith("/") or destination == ".":  # COPY a b ./ : into the folder
            target = target / Path(source).name
        if (REPO / source).is_dir():
            _copy_tree(REPO / source, target)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes((REPO / source).read_bytes())
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    deps = _filtered_site_packages(tmp_path / "deps")
    purelib = next((env_dir / "lib").glob("python3*/site-packages"))
    (purelib / "_image_deps.pth").write_text(f"{deps}\n")
    python = env_dir / "bin" / "python"
    environ = {
        k: v for k, v in os.environ.items() if not k.startswith(("ETL_", "DAGSTER_", "PYTHON"))
    }
    # `pip` of the image is the environment's own; this one runs pip from the linked deps.
    argv = shlex.split(install)
    assert argv[0] == "pip"
    done = subprocess.run(
        [str(python), "-m", "pip", *argv[1:]],
        cwd=context,
        env={**environ, "PIP_NO_CACHE_DIR": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        capture_output=True,
        text=True,
        timeout=540,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    probe = (
        "import etl_assets, etl_assets.definitions as d; "
        "print(etl_assets.__file__); "
        "print(d.defs.resolve_job_def('medallion').executor_def.name)"
    )
    loaded = subprocess.run(
        [str(python), "-c", probe],
        cwd=tmp_path,
        env={**environ, "ETL_EXECUTOR": "k8s", "ETL_DATA_DIR": str(tmp_path / "data")},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    location, executor = loaded.stdout.split()[-2:]
    assert Path(location).is_relative_to(purelib), location  # the installed copy
    assert executor == "k8s"


def _copy_tree(source: Path, target: Path) -> None:
    import shutil

    shutil.copytree(
        source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    )


def test_no_secret_in_the_deploy_files():
    """Secrets are named, never given: no password, key or DSN with credentials."""
    text = VALUES.read_text() + DOCKERFILE.read_text()
    assert not re.search(r"://[^/\s:@]+:[^@\s.]+@", text)  # user:password@ in a URL
    values = _values()
    assert "postgresqlPassword" not in values["postgresql"]
    for entry in _deployment(values)["env"]:
        assert not re.search(r"KEY|PASSWORD|SECRET|TOKEN", entry["name"]), entry["name"]
