"""docker/: the compose deployment names the services scripts/airflow-cluster.sh starts natively (and the
scale-out test runs), every Airflow service runs the project's image as a CeleryExecutor with the shared
data volume, and the compose file passes `docker compose config` where the client has the compose plugin."""

import re
import shutil
import subprocess

import pytest
import yaml

from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.unit

COMPOSE = PROJECT_ROOT / "docker" / "compose.yaml"
SCRIPT = PROJECT_ROOT / "scripts" / "airflow-cluster.sh"
AIRFLOW_SERVICES = ["airflow-init", "scheduler", "api-server", "dag-processor", "worker"]


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_compose_names_the_services_the_native_cluster_starts():
    native = re.search(r"^SERVICES=\(([^)]*)\)", SCRIPT.read_text(), re.MULTILINE).group(1).split()
    assert sorted(compose()["services"]) == sorted(native)
    assert sorted(native) == sorted(["postgres", "redis", *AIRFLOW_SERVICES])


def test_every_airflow_service_runs_the_project_image_with_celery_and_the_shared_data_volume():
    services = compose()["services"]
    for name in AIRFLOW_SERVICES:
        service = services[name]
        assert service["image"] == "mhhs-airflow:latest" and service["build"]["dockerfile"] == "docker/Dockerfile", name
        assert service["environment"]["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert "mhhs-data:/data" in service["volumes"], name
        assert service["environment"]["MHHS_DATA_DIR"] == "/data", name
    assert services["worker"]["command"] == ["celery", "worker"]
    assert services["worker"]["deploy"]["replicas"] >= 2
    assert services["scheduler"]["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
    # the ingest tasks' pool, as scripts/airflow-cluster.sh creates it: without it they are never scheduled
    init = " ".join(services["airflow-init"]["command"])
    assert "airflow db migrate" in init and "airflow pools set mhhs_ingest 1 " in init


def test_the_dockerfile_installs_the_pinned_stack_and_the_project():
    dockerfile = (PROJECT_ROOT / "docker" / "Dockerfile").read_text()
    for line in ("-r requirements.lock", "COPY --chown=airflow:0 dags ./dags", "COPY --chown=airflow:0 dbt_project ./dbt_project",
                 "-e '.[airflow]'", 'ENTRYPOINT ["airflow"]'):
        assert line in dockerfile


def _compose_plugin() -> bool:
    return shutil.which("docker") is not None and subprocess.run(
        ["docker", "compose", "version"], capture_output=True).returncode == 0


@pytest.mark.system
@pytest.mark.skipif(not _compose_plugin(), reason="the docker client here has no compose plugin (`docker compose` is unknown)")
def test_docker_compose_accepts_the_file():
    checked = subprocess.run(["docker", "compose", "-f", str(COMPOSE), "config", "--quiet"],
                             env={"AIRFLOW_JWT_SECRET": "test", "PATH": "/usr/local/bin:/usr/bin:/bin"},
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
