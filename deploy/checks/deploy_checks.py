#!/usr/bin/env python3
"""Static checks of fitfleet's deployment files, run by scripts/check-deploy.

    deploy_checks.py compose RESOLVED.yaml    # output of `docker-compose --profile client config`
    deploy_checks.py kubernetes
    deploy_checks.py dockerfiles BINS.txt     # bin targets of the workspace, one a line
    deploy_checks.py slurm
    deploy_checks.py rabbitmq-definitions     # runs deploy/compose/rabbitmq-entrypoint.sh
    deploy_checks.py redis-acl                # runs deploy/compose/redis-entrypoint.sh

Each prints what it checked and exits 1 listing every problem found. Needs PyYAML, jsonschema
and dockerfile (the venv of scripts/check-deploy has them).
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs/configuration.md"
# FITFLEET_* variables that are not settings keys (docs/configuration.md, "Not settings").
NOT_SETTINGS = {"FITFLEET_CONFIG", "FITFLEET_LOG"}
# Binaries the Dockerfiles build that are allowed to be missing from the workspace for now:
# fitfleet-worker is being added by the worker service branch. Empty this once it has landed.
PENDING_BINS = {"fitfleet-worker"}

problems: list[str] = []


def problem(msg: str) -> None:
    problems.append(msg)


def rel(p: Path) -> str:
    return str(p.relative_to(ROOT))


def documented_variables() -> set[str]:
    """The FITFLEET_* variables of every settings table of docs/configuration.md."""
    names = set()
    for table in re.findall(r"<!-- settings-table: \w+ -->(.*?)<!-- /settings-table -->", DOC.read_text(), re.S):
        for line in table.strip().splitlines()[2:]:
            cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
            names.add(cells[2])
    if not names:
        problem(f"{rel(DOC)}: no settings tables found")
    return names


def check_variables(where: str, names, documented: set[str]) -> None:
    for name in names:
        if name.startswith("FITFLEET_") and name not in documented and name not in NOT_SETTINGS:
            problem(f"{where}: {name} is not a setting documented in {rel(DOC)}")


def seconds(duration) -> float:
    """A compose duration ('630s', '10m30s', '1h', 90) in seconds."""
    if isinstance(duration, (int, float)):
        return float(duration)
    total = 0.0
    parts = re.findall(r"(\d+(?:\.\d+)?)(h|m|s|ms|us)", duration)
    if not parts or "".join(n + u for n, u in parts) != duration:
        raise ValueError(f"not a duration: {duration!r}")
    for number, unit in parts:
        total += float(number) * {"h": 3600, "m": 60, "s": 1, "ms": 1e-3, "us": 1e-6}[unit]
    return total


def env_dict(env) -> dict[str, str]:
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {k: "" if v is None else str(v) for k, v in (env or {}).items()}


# ---- docker compose ---------------------------------------------------------------------------

def compose(resolved_path: str) -> None:
    raw = (ROOT / "docker-compose.yml").read_text()
    resolved_text = Path(resolved_path).read_text()
    cfg = yaml.safe_load(resolved_text) or {}
    services = cfg.get("services") or {}
    documented = documented_variables()

    for name in ("rabbitmq", "redis", "worker", "client"):
        if name not in services:
            problem(f"docker-compose.yml: no service {name}")
    if problems:
        return
    if re.search(r"guest", resolved_text, re.I):
        problem("docker-compose.yml: the resolved configuration mentions guest")

    # Every variable the compose file interpolates is documented in .env.example, and back.
    used = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", raw))
    example = (ROOT / ".env.example").read_text()
    listed = set(re.findall(r"^([A-Za-z_][A-Za-z0-9_]*)=", example, re.M))
    for var in sorted(used - listed):
        problem(f".env.example: {var} (used by docker-compose.yml) is not documented")
    for var in sorted(listed - used):
        problem(f".env.example: {var} is not used by docker-compose.yml")
    for secret in ("RABBITMQ_PASSWORD", "RABBITMQ_WORKER_PASSWORD", "RABBITMQ_CLIENT_PASSWORD", "REDIS_PASSWORD",
                   "REDIS_WORKER_PASSWORD", "REDIS_CLIENT_PASSWORD"):
        if not re.search(rf"^{secret}=$", example, re.M):
            problem(f".env.example: {secret} must be empty (no default secrets)")
        if not re.search(rf"\$\{{{secret}:\?", raw):
            problem(f"docker-compose.yml: {secret} must be required (${{{secret}:?...}})")

    # Workers: scalable, draining, started after healthy services.
    worker = services["worker"]
    for key in ("container_name", "ports"):
        if key in worker:
            problem(f"docker-compose.yml: worker has {key}: --scale worker=N needs neither")
    replicas = (worker.get("deploy") or {}).get("replicas")
    if not isinstance(replicas, int) or replicas < 1:
        problem("docker-compose.yml: worker needs deploy.replicas (a default replica count)")
    if (worker.get("build") or {}).get("dockerfile") != "Dockerfile":
        problem("docker-compose.yml: worker must be built from the repository's Dockerfile")
    for dep in ("rabbitmq", "redis"):
        cond = ((worker.get("depends_on") or {}).get(dep) or {}).get("condition")
        if cond != "service_healthy":
            problem(f"docker-compose.yml: worker must depend on {dep} with condition service_healthy")
    env = env_dict(worker.get("environment"))
    check_variables("docker-compose.yml worker", env, documented)
    if not env.get("FITFLEET_METRICS_ADDR", "").startswith("0.0.0.0:"):
        problem("docker-compose.yml: worker FITFLEET_METRICS_ADDR must listen on 0.0.0.0")
    try:
        grace = seconds(worker.get("stop_grace_period", "10s"))
        drain = float(env.get("FITFLEET_DRAIN_TIMEOUT_SECS", "600"))
        if grace <= drain:
            problem(f"docker-compose.yml: worker stop_grace_period ({grace:g}s) must exceed the drain timeout ({drain:g}s)")
    except ValueError as e:
        problem(f"docker-compose.yml: worker: {e}")
    if worker.get("stop_signal", "SIGTERM") != "SIGTERM":
        problem("docker-compose.yml: worker stop_signal must be SIGTERM")
    if not (worker.get("healthcheck") or {}).get("test"):
        problem("docker-compose.yml: worker has no health check")

    for name in ("rabbitmq", "redis"):
        if not (services[name].get("healthcheck") or {}).get("test"):
            problem(f"docker-compose.yml: {name} has no health check")

    # Client: on demand, with the examples.
    client = services["client"]
    if client.get("profiles") != ["client"]:
        problem("docker-compose.yml: client must be under the profile client")
    workdir = client.get("working_dir", "")
    if not any(str(v).endswith(f":{workdir}/examples:ro") and str(v).split(":")[0].endswith("/examples")
               for v in client.get("volumes", [])):
        problem("docker-compose.yml: client must mount the repository's examples/ into its working directory")
    check_variables("docker-compose.yml client", env_dict(client.get("environment")), documented)

    # RabbitMQ: topology from the repository, user from the generated definitions.
    rabbit = services["rabbitmq"]
    renv = env_dict(rabbit.get("environment"))
    for bad in ("RABBITMQ_DEFAULT_USER", "RABBITMQ_DEFAULT_PASS"):
        if bad in renv:
            problem(f"docker-compose.yml: {bad} is ignored when definitions are loaded at boot; use RABBITMQ_USER")
    if "management" not in rabbit.get("image", ""):
        problem("docker-compose.yml: the RabbitMQ image must have the management plugin")
    mounts = [str(v) for v in rabbit.get("volumes", [])]
    if not any("crates/fleet/rabbitmq/definitions.json:" in m for m in mounts):
        problem("docker-compose.yml: rabbitmq must mount crates/fleet/rabbitmq/definitions.json")
    conf = (ROOT / "deploy/compose/rabbitmq.conf").read_text()
    entry = (ROOT / "deploy/compose/rabbitmq-entrypoint.sh").read_text()
    load = re.search(r"^load_definitions\s*=\s*(\S+)", conf, re.M)
    out = re.search(r"FITFLEET_DEFINITIONS_OUT:-([^}]+)\}", entry)
    if not load or not out or load.group(1) != out.group(1):
        problem("deploy/compose: rabbitmq.conf's load_definitions must name the file rabbitmq-entrypoint.sh writes")

    # Redis: persistent, password, never evicting.
    redis_conf = (ROOT / "deploy/compose/redis.conf").read_text()
    for line in ("appendonly yes", "appendfsync everysec", "maxmemory-policy noeviction"):
        if not re.search(rf"^{line}$", redis_conf, re.M):
            problem(f"deploy/compose/redis.conf: missing `{line}`")
    redis = services["redis"]
    command = [str(c) for c in redis.get("command", [])]
    for flag in ("--aclfile", "--maxmemory"):
        if flag not in command:
            problem(f"docker-compose.yml: redis command lacks {flag}")
    if "--requirepass" in command:
        problem("docker-compose.yml: redis: --requirepass would replace the ACL file's default user")
    redis_entry = (ROOT / "deploy/compose/redis-entrypoint.sh").read_text()
    acl_out = re.search(r"FITFLEET_ACL_OUT:-([^}]+)\}", redis_entry)
    if "--aclfile" in command and (not acl_out or command[command.index("--aclfile") + 1] != acl_out.group(1)):
        problem("docker-compose.yml: redis --aclfile must name the file redis-entrypoint.sh writes")
    if [str(c) for c in redis.get("entrypoint", [])][-1:] != ["/etc/fitfleet/redis-entrypoint.sh"]:
        problem("docker-compose.yml: redis must start through deploy/compose/redis-entrypoint.sh")
    # Each fitfleet process logs in to Redis and RabbitMQ as its own user, never as the administrator.
    for name, user in (("worker", "fitfleet-worker"), ("client", "fitfleet-client")):
        env = env_dict(services[name].get("environment"))
        url = env.get("FITFLEET_REDIS_URL", "")
        if not url.startswith(f"redis://{user}:"):
            problem(f"docker-compose.yml: {name} must reach Redis as user {user}, not {url.split('@')[0]}")
        url = env.get("FITFLEET_BROKER_URL", "")
        if not url.startswith(f"amqp://{user}:"):
            problem(f"docker-compose.yml: {name} must reach RabbitMQ as user {user}, not {url.split('@')[0]}")
    print("compose: services, scaling, health checks, drain grace, .env.example, RabbitMQ and Redis users, Redis policy")


# ---- Kubernetes -------------------------------------------------------------------------------

def kubernetes() -> None:
    import jsonschema

    kdir = ROOT / "deploy/kubernetes"
    docs = []
    for path in sorted(kdir.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                docs.append((path, doc))
    by_kind: dict[str, dict[str, dict]] = {}
    for path, doc in docs:
        # scripts/check-deploy gives kubernetes-validate every file but keda-*.yaml.
        if path.name.startswith("keda-") != str(doc.get("apiVersion", "")).startswith("keda.sh/"):
            problem(f"{rel(path)}: KEDA kinds belong in keda-*.yaml files, and only they")
        kind, name = doc.get("kind"), (doc.get("metadata") or {}).get("name")
        by_kind.setdefault(kind, {})[name] = doc
        if kind != "Namespace" and (doc.get("metadata") or {}).get("namespace") != "fitfleet":
            problem(f"{rel(path)}: {kind}/{name} is not in namespace fitfleet")

    # KEDA kinds against their schemas.
    schemas = {
        "ScaledObject": json.loads((kdir / "schemas/keda-scaledobject-v1alpha1.json").read_text()),
        "TriggerAuthentication": json.loads((kdir / "schemas/keda-triggerauthentication-v1alpha1.json").read_text()),
    }
    for path, doc in docs:
        if not str(doc.get("apiVersion", "")).startswith("keda.sh/"):
            continue
        schema = schemas.get(doc.get("kind"))
        if schema is None:
            problem(f"{rel(path)}: no schema for KEDA kind {doc.get('kind')}")
            continue
        validator = jsonschema.Draft202012Validator(schema)
        for err in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path)):
            where = ".".join(str(p) for p in err.absolute_path) or "(root)"
            problem(f"{rel(path)}: {doc['kind']}/{doc['metadata'].get('name')}: {where}: {err.message}")

    if "fitfleet" not in by_kind.get("Namespace", {}):
        problem("deploy/kubernetes: no Namespace fitfleet")
    deployment = by_kind.get("Deployment", {}).get("fitfleet-worker")
    config = by_kind.get("ConfigMap", {}).get("fitfleet-config")
    secrets = by_kind.get("Secret", {})
    if not deployment or not config:
        problem("deploy/kubernetes: the Deployment fitfleet-worker and ConfigMap fitfleet-config must exist")
        return
    documented = documented_variables()
    check_variables("configmap.yaml", config.get("data", {}), documented)
    for sname, secret in secrets.items():
        check_variables(f"secret.template.yaml {sname}", (secret.get("stringData") or {}), documented)

    pod = deployment["spec"]["template"]["spec"]
    container = next((c for c in pod["containers"] if c["name"] == "worker"), None)
    if container is None:
        problem("worker-deployment.yaml: no container named worker")
        return
    check_variables("worker-deployment.yaml", [e["name"] for e in container.get("env", [])], documented)
    for ref in container.get("envFrom", []):
        if "configMapRef" in ref and ref["configMapRef"]["name"] not in by_kind.get("ConfigMap", {}):
            problem(f"worker-deployment.yaml: envFrom names a missing ConfigMap {ref['configMapRef']['name']}")
        if "secretRef" in ref and ref["secretRef"]["name"] not in secrets:
            problem(f"worker-deployment.yaml: envFrom names a missing Secret {ref['secretRef']['name']}")
    worker_secret = next((secrets[r["secretRef"]["name"]] for r in container.get("envFrom", [])
                          if "secretRef" in r and r["secretRef"]["name"] in secrets), {})
    for key, scheme in (("FITFLEET_BROKER_URL", "amqp"), ("FITFLEET_REDIS_URL", "redis")):
        url = str((worker_secret.get("stringData") or {}).get(key, ""))
        if not url:
            problem(f"secret.template.yaml: the workers' Secret must hold {key}")
        elif not re.match(rf"^{scheme}s?://fitfleet-worker:", url):
            problem(f"secret.template.yaml: the workers' {key} must log in as fitfleet-worker")
    for sname, secret in secrets.items():
        for key, value in (secret.get("stringData") or {}).items():
            if "guest" in str(value):
                problem(f"secret.template.yaml: {sname}.{key} uses guest")

    drain = float(config["data"].get("FITFLEET_DRAIN_TIMEOUT_SECS", "600"))
    grace = pod.get("terminationGracePeriodSeconds", 30)
    if grace <= drain:
        problem(f"worker-deployment.yaml: terminationGracePeriodSeconds ({grace}) must exceed the drain timeout ({drain:g})")
    metrics_port = int(config["data"].get("FITFLEET_METRICS_ADDR", "127.0.0.1:9898").rsplit(":", 1)[1])
    if not config["data"].get("FITFLEET_METRICS_ADDR", "").startswith("0.0.0.0:"):
        problem("configmap.yaml: FITFLEET_METRICS_ADDR must listen on 0.0.0.0 in a pod")
    ports = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
    if ports.get("metrics") != metrics_port:
        problem(f"worker-deployment.yaml: port metrics must be {metrics_port} (FITFLEET_METRICS_ADDR)")
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        get = (container.get(probe) or {}).get("httpGet") or {}
        if get.get("path") != "/healthz" or get.get("port") not in ("metrics", metrics_port):
            problem(f"worker-deployment.yaml: {probe} must GET /healthz on the metrics port")
    limits, requests = container["resources"].get("limits", {}), container["resources"].get("requests", {})
    for res in ("cpu", "memory"):
        if res not in limits or res not in requests:
            problem(f"worker-deployment.yaml: {res} needs a request and a limit")
    slots_from_cpu = any(e["name"] == "FITFLEET_SLOTS" and ((e.get("valueFrom") or {}).get("resourceFieldRef") or {}).get("resource") == "limits.cpu"
                         for e in container.get("env", []))

    # KEDA: the right target, authentication, queues and count.
    queues = {q["name"] for q in json.loads((ROOT / "crates/fleet/rabbitmq/definitions.json").read_text())["queues"]}
    auths = by_kind.get("TriggerAuthentication", {})
    for aname, auth in auths.items():
        for ref in auth["spec"].get("secretTargetRef", []):
            secret = secrets.get(ref["name"])
            if secret is None or ref["key"] not in (secret.get("stringData") or {}):
                problem(f"keda-scaledobject.yaml: TriggerAuthentication {aname} reads {ref['name']}.{ref['key']}, which the Secret template lacks")
    scaled = by_kind.get("ScaledObject", {})
    if not scaled:
        problem("deploy/kubernetes: no KEDA ScaledObject")
    for sname, so in scaled.items():
        if so["spec"]["scaleTargetRef"]["name"] not in by_kind.get("Deployment", {}):
            problem(f"ScaledObject {sname}: scaleTargetRef names no Deployment here")
        task_triggers = 0
        for trig in so["spec"]["triggers"]:
            meta = trig.get("metadata", {})
            ref = (trig.get("authenticationRef") or {}).get("name")
            if ref and ref not in auths:
                problem(f"ScaledObject {sname}: trigger names a missing TriggerAuthentication {ref}")
            if trig.get("type") != "rabbitmq":
                continue
            if meta.get("queueName") not in queues:
                problem(f"ScaledObject {sname}: queue {meta.get('queueName')} is not in crates/fleet/rabbitmq/definitions.json")
            if meta.get("mode") == "QueueLength":
                if meta.get("protocol") != "http" or meta.get("excludeUnacknowledged") == "true":
                    problem(f"ScaledObject {sname}: QueueLength must count unacknowledged tasks (protocol: http, excludeUnacknowledged unset)")
            if meta.get("queueName") == "fitfleet.tasks":
                task_triggers += 1
                cpu = str(limits.get("cpu", ""))
                if slots_from_cpu and cpu.isdigit() and meta.get("value") != cpu:
                    problem(f"ScaledObject {sname}: value {meta.get('value')} must equal the worker's slots (limits.cpu {cpu})")
        if task_triggers != 1:
            problem(f"ScaledObject {sname}: needs exactly one trigger on fitfleet.tasks")
    print("kubernetes: KEDA schemas, namespaces, references, probes, drain grace, KEDA queue and count")


# ---- Dockerfiles ------------------------------------------------------------------------------

def dockerfiles(bins_path: str) -> None:
    import dockerfile

    workspace_bins = set(Path(bins_path).read_text().split())
    features = tomllib.loads((ROOT / "crates/engine/Cargo.toml").read_text()).get("features", {})
    for name, final_base in (("Dockerfile", r"^debian:[^ ]*-slim$"), ("Dockerfile.cuda", r"^nvidia/cuda:[^ ]*-runtime-")):
        path = ROOT / name
        try:
            cmds = dockerfile.parse_file(str(path))
        except dockerfile.GoParseError as e:
            problem(f"{name}: does not parse: {e}")
            continue
        stages: list[str] = []
        final = []
        for c in cmds:
            if c.cmd == "FROM":
                final = [c]
                if len(c.value) == 3 and c.value[1].upper() == "AS":
                    stages.append(c.value[2])
            else:
                final.append(c)
            for flag in c.flags:
                if flag.startswith("--from=") and flag[len("--from="):] not in stages:
                    problem(f"{name}: COPY {flag} names no earlier stage")
        base = final[0].value[0]
        if not re.search(final_base, base):
            problem(f"{name}: the runtime stage's base {base} does not match {final_base}")
        user = [c.value[0] for c in final if c.cmd == "USER"]
        if not user or user[-1].split(":")[0] in ("root", "0"):
            problem(f"{name}: the runtime stage must switch to a non-root USER")
        if [c.value for c in final if c.cmd == "STOPSIGNAL"] != [("SIGTERM",)]:
            problem(f"{name}: the runtime stage needs STOPSIGNAL SIGTERM")
        entry = [c for c in final if c.cmd == "ENTRYPOINT"]
        if not entry or not entry[-1].json or not entry[-1].value[0].endswith("/fitfleet-worker"):
            problem(f"{name}: ENTRYPOINT must be the worker in exec (JSON) form")
        runs = " ".join(" ".join(c.value) for c in cmds if c.cmd == "RUN")
        if "cargo chef cook" not in runs:
            problem(f"{name}: dependencies must be cooked in their own layer (cargo chef cook)")
        if name == "Dockerfile.cuda":
            # The CUDA image builds with scripts/build-cuda, the script developers run: its
            # cargo build names the binaries.
            if not re.search(r"(^|[\s;&|])scripts/build-cuda(\s|$)(?!--no-build)", runs):
                problem("Dockerfile.cuda: must build with scripts/build-cuda (the same steps as a developer)")
            script = (ROOT / "scripts/build-cuda").read_text()
            joined = script.replace("\\\n", " ")  # continuation lines joined
            build_line = " ".join(line for line in joined.splitlines() if "cargo build" in line)
            built = set(re.findall(r"--bin\s+(\S+)", build_line))
            if "--features fitfleet/cuda,fitfleet-worker/cuda" not in build_line:
                problem("scripts/build-cuda: cargo build must use --features fitfleet/cuda,fitfleet-worker/cuda")
        else:
            built = set(re.findall(r"--bin\s+(\S+)", runs))
        if built != {"fitfleet", "fitfleet-worker"}:
            problem(f"{name}: must build the bins fitfleet and fitfleet-worker, builds {sorted(built)}")
        for b in sorted(built - workspace_bins):
            if b in PENDING_BINS:
                print(f"dockerfiles: note: {name} builds {b}, which the workspace does not have yet (pending)")
            else:
                problem(f"{name}: builds {b}, which no package of the workspace has")
        if name == "Dockerfile.cuda":
            if runs.count("--features fitfleet-engine/cuda") < 2:
                problem("Dockerfile.cuda: the skeleton and the dependencies must be cooked with --features fitfleet-engine/cuda")
            if "build-cuda --no-build" not in runs:
                problem("Dockerfile.cuda: the toolkit must come from scripts/build-cuda --no-build before the cook")
            for feature in ("cuda", "cuda-api"):
                if feature not in features:
                    problem(f"crates/engine/Cargo.toml: no feature {feature} (Dockerfile.cuda, scripts/test)")
            final_env = " ".join(" ".join(c.value) for c in final if c.cmd == "ENV")
            if "FITFLEET_DEVICE" not in final_env:
                problem("Dockerfile.cuda: the runtime stage must set FITFLEET_DEVICE (the image exists to fit on a GPU)")
            if "UNTESTED" not in path.read_text():
                problem("Dockerfile.cuda: must say that it is untested")
    ignore = (ROOT / ".dockerignore").read_text().split()
    for entry in (".env", "/target", ".git"):
        if entry not in ignore:
            problem(f".dockerignore: must exclude {entry}")
    print("dockerfiles: parse, stages, non-root user, STOPSIGNAL, exec entrypoint, cargo-chef, binaries, .dockerignore")


# ---- Slurm ------------------------------------------------------------------------------------

def slurm() -> None:
    path = ROOT / "deploy/slurm/fitfleet-worker.sbatch"
    text = path.read_text()
    sbatch = dict(re.findall(r"^#SBATCH\s+--([a-z-]+)(?:=(\S+))?", text, re.M))
    for opt in ("array", "cpus-per-task", "time", "signal"):
        if opt not in sbatch:
            problem(f"{rel(path)}: no #SBATCH --{opt}")
    m = re.fullmatch(r"B:(?:SIG)?TERM@(\d+)", sbatch.get("signal", ""))
    drain = re.search(r"FITFLEET_DRAIN_TIMEOUT_SECS:-(\d+)", text)
    if not m:
        problem(f"{rel(path)}: --signal must be B:TERM@<seconds> (to the batch shell, which forwards it)")
    elif not drain or int(m.group(1)) < int(drain.group(1)) + 60:
        problem(f"{rel(path)}: the --signal lead time must exceed the drain timeout by Slurm's 60 s resolution")
    if not re.search(r"FITFLEET_SLOTS:-\$\{SLURM_CPUS_PER_TASK", text):
        problem(f"{rel(path)}: slots must default to the allocated cores (SLURM_CPUS_PER_TASK)")
    check_variables(rel(path), set(re.findall(r"\bFITFLEET_[A-Z_]+", text)) - {"FITFLEET_"}, documented_variables())
    example = tomllib.loads((ROOT / "deploy/slurm/fitfleet.toml.example").read_text())
    documented_keys = {v[len("FITFLEET_"):].lower() for v in documented_variables()}
    for key in example:
        if key not in documented_keys:
            problem(f"deploy/slurm/fitfleet.toml.example: {key} is not a documented setting")
    print("slurm: #SBATCH options, signal lead time, slots, settings names")


# ---- RabbitMQ definitions generator ------------------------------------------------------------

def rabbitmq_definitions() -> None:
    """Run the compose entrypoint's generator and check its output: the topology unchanged, the
    three users with hashes RabbitMQ accepts for their passwords (rabbit_password_hashing_sha256:
    base64(salt ++ sha256(salt ++ password)), 4-byte salt), least-privilege permissions for the
    queue prefix, and refusals of bad input. What the users may do is tested against a real
    RabbitMQ by crates/fleet/tests/rabbitmq_users.rs."""
    script = ROOT / "deploy/compose/rabbitmq-entrypoint.sh"
    topology_path = ROOT / "crates/fleet/rabbitmq/definitions.json"
    passwords = {"RABBITMQ_PASSWORD": "check-deploy-Password-\u00e9", "RABBITMQ_WORKER_PASSWORD": "check-deploy-worker",
                 "RABBITMQ_CLIENT_PASSWORD": "check-deploy-client"}
    users = {"fitfleet": "RABBITMQ_PASSWORD", "fitfleet-worker": "RABBITMQ_WORKER_PASSWORD",
             "fitfleet-client": "RABBITMQ_CLIENT_PASSWORD"}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out/definitions.json"

        def run(user: str, **env: str) -> subprocess.CompletedProcess:
            full = dict(os.environ, RABBITMQ_USER=user, FITFLEET_TOPOLOGY=str(topology_path),
                        FITFLEET_DEFINITIONS_OUT=str(out), **passwords)
            full.update(env)
            return subprocess.run(["bash", str(script), "true"], env=full, capture_output=True, text=True)

        result = run("fitfleet", FITFLEET_QUEUE_PREFIX="ff.")
        if result.returncode != 0:
            problem(f"rabbitmq-entrypoint.sh failed: {result.stderr.strip()}")
            return
        defs = json.loads(out.read_text())
        topology = json.loads(topology_path.read_text())
        for key, value in topology.items():
            if defs.get(key) != value:
                problem(f"rabbitmq-entrypoint.sh: the generated {key} differ from {rel(topology_path)}")
        found = {u.get("name"): u for u in defs.get("users", [])}
        if set(found) != set(users) or len(defs.get("users", [])) != len(users):
            problem(f"rabbitmq-entrypoint.sh: expected exactly the users {sorted(users)}, got {sorted(found)}")
        for user, var in users.items():
            u = found.get(user, {})
            raw = base64.b64decode(u.get("password_hash", ""))
            if u.get("hashing_algorithm") != "rabbit_password_hashing_sha256" or len(raw) != 36 \
                    or hashlib.sha256(raw[:4] + passwords[var].encode()).digest() != raw[4:]:
                problem(f"rabbitmq-entrypoint.sh: {user}'s hash is not RabbitMQ's salted SHA-256 of {var}")
            if passwords[var] in out.read_text():
                problem(f"rabbitmq-entrypoint.sh: {var} itself is in the definitions")
        if found.get("fitfleet", {}).get("tags") != ["administrator"] or any(
                found.get(u, {}).get("tags") for u in ("fitfleet-worker", "fitfleet-client")):
            problem("rabbitmq-entrypoint.sh: only the administrator may have tags (management access)")
        want = [
            {"user": "fitfleet", "vhost": "/", "configure": ".*", "write": ".*", "read": ".*"},
            {"user": "fitfleet-worker", "vhost": "/", "configure": "^$", "write": "^$", "read": r"^ff\.tasks(\.dead)?$"},
            {"user": "fitfleet-client", "vhost": "/", "configure": "^$", "write": r"^ff\.submit$", "read": "^$"},
        ]
        if defs.get("permissions") != want:
            problem(f"rabbitmq-entrypoint.sh: unexpected permissions {defs.get('permissions')}")
        for user, env, why in (("guest", {}, "the guest user"),
                               ("fitfleet-worker", {}, "a fleet user as the administrator"),
                               ("fitfleet", {"RABBITMQ_PASSWORD": "short"}, "a short password"),
                               ("fitfleet", {"RABBITMQ_CLIENT_PASSWORD": ""}, "no client password"),
                               ("fitfleet", {"RABBITMQ_WORKER_PASSWORD": passwords["RABBITMQ_CLIENT_PASSWORD"]},
                                "two users with one password"),
                               ("fitfleet", {"FITFLEET_QUEUE_PREFIX": "ff.*"}, "a queue prefix with a regex character"),
                               ("", {}, "no user"), ('bad"user', {}, "a user name needing escapes")):
            if run(user, **env).returncode == 0:
                problem(f"rabbitmq-entrypoint.sh: accepted {why}")
    print("rabbitmq-definitions: topology kept, users and password hashes, permissions, refusals")


# ---- Redis users --------------------------------------------------------------------------------

def redis_acl() -> None:
    """Run the compose entrypoint's ACL generator: one line per user, hashes (not passwords) of
    the right passwords, the key prefix substituted, refusals of bad input. What the users may
    do is tested against a real redis-server by crates/fleet/tests/redis_acl.rs."""
    script = ROOT / "deploy/compose/redis-entrypoint.sh"
    passwords = {"REDIS_PASSWORD": "check-deploy-admin", "REDIS_WORKER_PASSWORD": "check-deploy-worker",
                 "REDIS_CLIENT_PASSWORD": "check-deploy-client"}
    users = {"default": "REDIS_PASSWORD", "fitfleet-worker": "REDIS_WORKER_PASSWORD",
             "fitfleet-client": "REDIS_CLIENT_PASSWORD"}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out/users.acl"

        def run(**env: str) -> subprocess.CompletedProcess:
            full = dict(os.environ, FITFLEET_ACL_TEMPLATE=str(ROOT / "deploy/compose/redis-users.acl"),
                        FITFLEET_ACL_OUT=str(out), **passwords)
            full.update(env)
            return subprocess.run(["sh", str(script), "true"], env=full, capture_output=True, text=True)

        result = run(FITFLEET_KEY_PREFIX="ff:")
        if result.returncode != 0:
            problem(f"redis-entrypoint.sh failed: {result.stderr.strip()}")
            return
        lines = out.read_text().splitlines()
        found = {line.split()[1]: line for line in lines if line.startswith("user ")}
        if set(found) != set(users) or len(lines) != len(users):
            problem(f"redis-entrypoint.sh: expected exactly the users {sorted(users)}, got {lines}")
        for user, var in users.items():
            line = found.get(user, "")
            if f"#{hashlib.sha256(passwords[var].encode()).hexdigest()}" not in line.split():
                problem(f"redis-entrypoint.sh: user {user} lacks the SHA-256 of {var}")
            if passwords[var] in line:
                problem(f"redis-entrypoint.sh: the password of {user} is in the ACL file")
        writable = {}
        for user in ("fitfleet-worker", "fitfleet-client"):
            # Selectors "(~pattern +command ...)" are read as their words.
            words = found.get(user, "").replace("(", " ").replace(")", " ").split()
            patterns = [w for w in words if re.match(r"^(%R|%W|%RW)?~", w)]
            if "-@all" not in words or any(not re.match(r"^(%R|%W|%RW)?~ff:", w) for w in patterns):
                problem(f"redis-entrypoint.sh: user {user} must start from -@all and only have keys under the prefix")
            if "@" in found.get(user, "").replace("-@all", ""):
                problem(f"redis-entrypoint.sh: user {user} has a command category or a placeholder left")
            writable[user] = {w.split("~", 1)[1] for w in patterns if not w.startswith("%R~")}
            for cmd in ("+eval", "+evalsha", "+eval_ro", "+script", "+function", "+fcall", "+del", "+unlink",
                        "+flushall", "+flushdb", "+keys", "+scan", "+config"):
                if cmd in words and (user == "fitfleet-client" or cmd not in ("+evalsha",)):
                    problem(f"redis-entrypoint.sh: user {user} may {cmd[1:].upper()}")
            if user == "fitfleet-client" and any(w in words for w in ("+expire", "+pexpire", "+getex", "+script|load")):
                problem("redis-entrypoint.sh: user fitfleet-client may set TTLs or load scripts")
        if writable.get("fitfleet-worker", set()) & writable.get("fitfleet-client", set()):
            problem("redis-entrypoint.sh: the worker and the client may write the same key patterns")
        for env, why in (({"REDIS_WORKER_PASSWORD": ""}, "no worker password"),
                         ({"REDIS_CLIENT_PASSWORD": "short"}, "a short password"),
                         ({"REDIS_CLIENT_PASSWORD": passwords["REDIS_WORKER_PASSWORD"]}, "two users with one password"),
                         ({"FITFLEET_KEY_PREFIX": "ff*"}, "a key prefix with a glob character")):
            if run(**env).returncode == 0:
                problem(f"redis-entrypoint.sh: accepted {why}")
    print("redis-acl: users, password hashes, key prefix, least privilege, disjoint writes, refusals")


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    what, args = sys.argv[1], sys.argv[2:]
    checks = {"compose": compose, "kubernetes": kubernetes, "dockerfiles": dockerfiles, "slurm": slurm,
              "rabbitmq-definitions": rabbitmq_definitions, "redis-acl": redis_acl}
    if what not in checks:
        print(__doc__, file=sys.stderr)
        return 2
    checks[what](*args)
    for p in problems:
        print(f"  problem: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
