#!/usr/bin/python
# Copyright: (c) 2026, preview maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

DOCUMENTATION = r"""
module: compose_project
short_description: Bring a docker compose project up or tear it down, verified
version_added: 0.1.0
description:
  - Runs the C(docker compose) v2 CLI plugin for one project, the preview environment of one pull request.
  - V(present) runs C(docker compose up --detach), builds images when asked, waits until every container is
    running and, where it has a healthcheck, healthy, and then checks that again itself.
  - V(absent) runs C(docker compose down) and then removes whatever containers, networks, volumes (with
    O(remove_volumes)) and dangling images (with O(remove_images)) still carry the label
    C(com.docker.compose.project=<project_name>); the task fails if any of them cannot be removed.
  - For O(state=present), the compose files are checked against the preview policy before anything is
    built or started (see O(policy)), and every service gets the resource limits of O(limits) through a
    compose file the module generates and passes last.
  - With O(route), that same generated file also makes a repository's own compose files preview-safe, so
    that two previews of them run side by side; the policy then judges the project with it.
  - Compose sees only the variables of O(env) and the few the docker CLI needs (E(PATH), E(HOME),
    E(LANG), E(LC_ALL), E(TZ), E(TMPDIR) and the E(DOCKER_HOST) family), not the environment the module
    inherits from C(ansible-playbook), which may hold tokens that a compose file could copy into a container.
  - Needs only the docker CLI with the compose plugin (2.24 or later for O(limits) and O(route), whose
    C(!reset) and C(!override) tags older versions do not know) on the target, and PyYAML for O(policy); no
    Python Docker SDK.
author:
  - preview maintainers (@preview-envs)
requirements:
  - the docker CLI with the compose v2 plugin on the target
  - PyYAML on the target, for O(policy)
extends_documentation_fragment:
  - preview.envs.attributes
  - preview.envs.host_layout.docker_cli
attributes:
  check_mode:
    support: partial
    details:
      - For O(state=present) the module runs C(docker compose up --dry-run) and reports the changes compose
        says it would make; nothing is built, created or started.
      - The policy (O(policy)) applies in check mode too; a project it refuses fails the task.
      - With O(build=true), compose's dry run builds a placeholder image instead of the real one, so every
        service that has a C(build) section is reported as to be recreated (RV(ignore:changed=true)) even
        when the real build would come from cache and leave its container alone.
      - For O(state=absent), RV(ignore:changed) says whether any resource the real run would remove exists
        (containers, networks, volumes with O(remove_volumes), dangling images with O(remove_images)), or
        compose's dry run would remove an image.
      - RV(containers) describes the containers as they are now, not as they would be.
  diff_mode:
    support: none
  idempotent:
    support: full
    details:
      - With O(build=true) images are rebuilt on every run; a rebuild that yields the same image (cache)
        changes no container and reports RV(ignore:changed=false).
options:
  project_src:
    description:
      - The project's working directory, passed as C(--project-directory); relative O(files) and build
        contexts are resolved from it.
      - It must exist for O(state=present). For O(state=absent) a missing directory is allowed (the checkout
        may already be gone); the project is then torn down by name and label only, without O(files).
    type: path
    required: true
  project_name:
    description:
      - The compose project name (C(--project-name)), which prefixes every container, network and volume.
      - Compose's rule applies, lowercase letters, digits, dashes and underscores, starting with a letter or
        a digit.
    type: str
    required: true
  files:
    description:
      - Compose files (C(--file)), relative to O(project_src) or absolute.
      - When not set, the first of C(compose.yaml), C(compose.yml), C(docker-compose.yml) and
        C(docker-compose.yaml) in O(project_src), plus the first of C(compose.override.yml),
        C(compose.override.yaml), C(docker-compose.override.yml) and C(docker-compose.override.yaml), as compose
        itself picks them; unlike compose, the parent directories are not searched.
    type: list
    elements: path
  state:
    description:
      - V(present) means C(docker compose up); V(absent) means C(docker compose down) plus the label sweep.
    type: str
    choices: [present, absent]
    default: present
  build:
    description:
      - Build images before starting containers (C(up --build)). Without it, images are only built when they
        do not exist yet.
    type: bool
    default: false
  wait:
    description:
      - Wait until the containers are running and healthy (C(up --wait --wait-timeout)), then poll
        C(docker compose ps) for up to O(wait_timeout) more seconds until every container is running and,
        if it has a healthcheck, healthy, since compose 2.26 has been seen to return before that.
      - A container that exits, or is still not ready at the end, fails the task.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds for C(--wait-timeout), and the length of the module's own readiness poll after it.
    type: int
    default: 60
  stop_timeout:
    description:
      - Seconds to wait for a container to stop before it is killed (C(--timeout) of C(up), used when
        recreating, and of C(down)). Compose's default (10) when not set.
    type: int
  remove_volumes:
    description:
      - For O(state=absent), also remove the project's named and anonymous volumes (C(down --volumes)) and
        any volume still labelled with the project.
    type: bool
    default: true
  remove_orphans:
    description:
      - Remove containers of services that are no longer in the compose files (C(--remove-orphans)), on
        C(up) and on C(down).
    type: bool
    default: true
  remove_images:
    description:
      - For O(state=absent), C(down --rmi). V(local) removes the images compose built without a custom
        tag, V(all) every image the services use, V(none) keeps them.
      - With V(local) or V(all), the dangling images labelled with the project (older builds that a
        rebuild untagged, which C(down --rmi) does not know about) are removed too.
    type: str
    choices: [none, local, all]
    default: none
  env:
    description:
      - Extra environment for the compose process, for the variables the compose files interpolate
        (for example C(APP_PORT)). Values become strings (booleans V(true)/V(false), null an empty string).
      - The values are not hidden from logs; keep secrets in an env file of the project instead.
    type: dict
    default: {}
  service_env:
    description:
      - Variables set in the environment of every service of the project, over what its files set, for
        O(state=present); through the compose file the module writes and passes last.
      - Names are letters, digits and C(_), not starting with a digit. Values become strings.
      - The values are written to that file and are not hidden from logs; use O(secret_files) for secrets.
    type: dict
    default: {}
  secret_files:
    description:
      - Variables of every service's environment whose values are read from files on the managed host, one
        file per variable (its content, less one trailing newline), for O(state=present).
      - The values reach the containers through compose's own environment (the generated file names them
        without a value), never through the module's arguments or a file it writes; the module masks them in
        everything it returns. Each file must be a regular file that only its owner can read or write.
      - The compose files can interpolate the same names (for example in build arguments); whatever they do with
        them is theirs, so give secrets only to compose files trusted with them.
    type: dict
    default: {}
  policy:
    description:
      - Check the compose files against the preview policy before anything is built or started, in check
        mode too; a refused project fails the task with RV(violations) and leaves the host untouched.
      - "The policy refuses what reaches outside the project: host namespaces (C(privileged), C(network_mode)
        other than V(none) or a service of the project, C(pid), C(ipc), C(userns_mode), C(uts), C(cgroup) of
        the host or of another container), capabilities beyond Docker's defaults, devices and GPUs,
        C(security_opt) other than C(no-new-privileges), sysctls outside C(net.*), C(runtime), bind mounts,
        build contexts, C(env_file), C(label_file), secret and config files outside O(confine_to), the
        docker socket, C(volumes_from) another container, volume and network drivers other than the local
        ones, C(driver_opts), fixed C(ipam) subnets, C(external) resources and fixed resource names, build
        C(ssh), C(secrets), C(network), C(privileged) and C(entitlements), secrets read from compose's
        environment, an C(image) name on a built service that is not the project's, C(include) and
        C(extends.file) outside O(confine_to), C(container_name), and published ports other than
        O(published_ports) on 127.0.0.1 or ::1."
      - V(false) skips every check and grants the compose files the host, root included; for trusted
        compose files only. O(state=absent) never checks, so that a teardown always runs.
    type: bool
    default: true
  confine_to:
    description:
      - The directory the policy confines host paths to (bind mounts, build contexts, env files, includes),
        compared after resolving symlinks. Default O(project_src).
      - Set it to the checkout when O(project_src) is a directory above it that holds a generated compose file.
    type: path
  allow:
    description:
      - Policy checks to lift, by name, for compose files trusted with what they lift.
    type: list
    elements: str
    default: []
    choices: [privileged, network_mode, pid, ipc, userns_mode, uts, cgroup, cap_add, devices, security_opt,
              sysctls, runtime, bind_mounts, docker_socket, volumes_from, volume_driver, network_driver, external,
              build_context, build_ssh, build_secrets, build_entitlements, image_name, secrets_files, env_file,
              label_file, include, ports, container_name]
  published_ports:
    description:
      - The host ports the project may publish, on 127.0.0.1 or ::1 (the preview's leased ports).
      - Empty means any port number; a published port must still be given (no random host port, no range) and
        bound to 127.0.0.1 or ::1, unless V(ports) is in O(allow).
    type: list
    elements: int
    default: []
  route:
    description:
      - Make the project's own compose files preview-safe, for O(state=present), through the compose file the
        module writes to its temporary directory and passes last (the one that holds O(limits)).
      - "Every host port binding of every service is removed (C(ports: !reset [])) except those that publish
        exactly one of O(published_ports) on 127.0.0.1; the routed service is published on
        C(127.0.0.1:<host_port>:<port>) (C(ports: !override)); C(container_name) is removed
        (C(!reset null)). Files written for a preview, which publish O(route.host_port) already, are left as
        they are."
      - Named volumes and networks need nothing, compose prefixes them with O(project_name), one set per
        project; C(external) ones stay refused by the policy unless O(allow) lifts V(external).
      - The policy (O(policy)) judges the project with this file applied, so it still refuses what the file
        does not change.
      - The routed service is O(route.service) when set. Otherwise, the service that already publishes
        O(route.host_port), else the only service that publishes a port; when neither decides, the task
        fails and says what to set.
      - Not set, the files run as they are, and the policy refuses host ports other than O(published_ports)
        and C(container_name).
    type: dict
    suboptions:
      host_port:
        description:
          - The host port the routed service is published on, on 127.0.0.1 (the preview's leased app port,
            where the route and O(health_url) point).
        type: int
        required: true
      service:
        description:
          - The compose service the preview routes to. Default by the rule above.
        type: str
      port:
        description:
          - The routed service's port inside its container. Default the port it already publishes on
            O(route.host_port), else the first port it publishes.
        type: int
  limits:
    description:
      - Resource limits of every service, for O(state=present), set through a compose file the module writes
        to its temporary directory and passes last (C(mem_limit), C(cpus), C(pids_limit), and the same values
        in C(deploy.resources.limits)); they replace the project's own limits, and C(memswap_limit) is reset.
      - A key left out or null sets no limit of that kind; V({}) sets none.
      - When O(stop_timeout) is set, the same file also sets it as every service's C(stop_grace_period).
    type: dict
    default: {memory: 512m, cpus: 1.0, pids: 256}
    suboptions:
      memory:
        description: Memory limit, bytes or a number with a unit (V(b), V(k), V(m), V(g)).
        type: str
      cpus:
        description: How many CPUs' worth of time.
        type: float
      pids:
        description: Most processes (and threads) at once.
        type: int
  health_url:
    description:
      - For O(state=present), after the containers are ready, GET this C(http://) URL until it answers
        200, for at most O(wait_timeout) seconds; otherwise the task fails with the stack's logs.
      - For apps whose containers have no healthcheck, and to see that the app itself answers where the
        route will point. One task instead of a separate C(ansible.builtin.uri) retry loop, which costs
        Ansible's start-up of a module on every attempt.
      - Not probed in check mode.
    type: str
  logs_on_failure:
    description:
      - On failure, how many lines of compose's own output and of each container's log go into RV(logs).
        V(0) collects none.
    type: int
    default: 50
notes:
  - Every command is run as an argv list, never through a shell.
  - The policy reads compose's own model (C(docker compose config --format json), with and without
    C(--no-interpolate)) and, before compose runs at all, the compose files themselves for C(include) and
    C(extends.file), following those inside O(confine_to).
  - For O(state=present), RV(ignore:changed) comes from compose's progress events (C(Created),
    C(Recreated), C(Started), C(Removed) and the like; C(Running), C(Up-to-date), C(Healthy) and C(Built)
    mean no change) and, outside check mode, from comparing the project's containers (ID and state) before
    and after.
  - For O(state=absent), it comes from comparing the project's labelled resources before and after, and
    from compose's image removal events. Its other C(down) events are not trusted, compose 2.26 reports
    the volumes that a compose file declares as C(Removed) even when they do not exist.
seealso:
  - name: docker compose CLI reference
    description: The commands this module runs.
    link: https://docs.docker.com/reference/cli/docker/compose/
"""

EXAMPLES = r"""
- name: Deploy the preview of PR 5, rebuilding the app image
  preview.envs.compose_project:
    project_src: /opt/preview-deployments/app-pr-5/src
    project_name: preview-app-pr-5
    build: true
    stop_timeout: 5
    env:
      APP_PORT: "18005"
  register: deploy

- name: Show where the preview answers
  ansible.builtin.debug:
    msg: "{{ deploy.containers | map(attribute='ports') | flatten | map(attribute='published_port') | list }}"

- name: Deploy with an explicit compose file and a shorter wait
  preview.envs.compose_project:
    project_src: /opt/preview-deployments/app-pr-6/src
    project_name: preview-app-pr-6
    files:
      - deploy/compose.preview.yaml
    wait_timeout: 30

- name: Deploy, and wait until the app itself answers on its health endpoint
  preview.envs.compose_project:
    project_src: /opt/preview-deployments/app-pr-7/src
    project_name: preview-app-pr-7
    build: true
    env:
      APP_PORT: "18007"
    health_url: http://127.0.0.1:18007/health

- name: Deploy a repository's own compose file, its web service on the leased port 18008
  preview.envs.compose_project:
    project_src: /opt/preview-deployments/app-pr-8/src
    project_name: preview-app-pr-8
    build: true
    published_ports: [18008, 19008]
    route:
      host_port: 18008
      service: web
      port: 3000
    health_url: http://127.0.0.1:18008/health

- name: Tear the preview down, volumes and built images included
  preview.envs.compose_project:
    project_src: /opt/preview-deployments/app-pr-5/src
    project_name: preview-app-pr-5
    state: absent
    remove_images: local
"""

RETURN = r"""
containers:
  description:
    - The project's containers after the run (in check mode, as they are now). Empty after O(state=absent).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Container name.
      type: str
      sample: preview-app-pr-5-web-1
    service:
      description: The compose service it belongs to.
      type: str
      sample: web
    state:
      description: Docker's container state.
      type: str
      sample: running
    health:
      description: V(healthy), V(unhealthy) or V(starting); null when the container has no healthcheck.
      type: str
      sample: healthy
    image:
      description: The image as compose names it.
      type: str
      sample: preview-app-pr-5-web
    ports:
      description: Published ports (exposed-only ports are left out).
      type: list
      elements: dict
      contains:
        url:
          description: The host address the port is bound to.
          type: str
          sample: 127.0.0.1
        target_port:
          description: The port inside the container.
          type: int
          sample: 8080
        published_port:
          description: The port on the host.
          type: int
          sample: 18005
        protocol:
          description: V(tcp) or V(udp).
          type: str
          sample: tcp
actions:
  description:
    - Compose's progress events, in order (in check mode, the dry run's), plus one C(Removed) entry for
      each resource the O(state=absent) label sweep removed.
  returned: always
  type: list
  elements: dict
  contains:
    resource_type:
      description: V(container), V(network), V(volume), V(image) or V(service).
      type: str
      sample: container
    name:
      description: The resource's name.
      type: str
      sample: preview-app-pr-5-web-1
    status:
      description:
        - What compose reported, for example V(Created), V(Recreated), V(Started), V(Running), V(Removed).
      type: str
      sample: Started
  sample:
    - {resource_type: network, name: preview-app-pr-5_default, status: Created}
    - {resource_type: container, name: preview-app-pr-5-web-1, status: Started}
route:
  description: The service the preview routes to, as O(route) set it or the rule decided it.
  returned: when O(route) is set and the stack came up, in check mode too
  type: dict
  contains:
    service:
      description: The routed compose service.
      type: str
      sample: web
    port:
      description: Its port inside the container.
      type: int
      sample: 3000
    host_port:
      description: The host port it is published on, on 127.0.0.1.
      type: int
      sample: 18008
health:
  description: What the O(health_url) probe saw.
  returned: when O(health_url) is set and the stack came up (not in check mode)
  type: dict
  contains:
    url:
      description: The URL probed.
      type: str
      sample: http://127.0.0.1:18005/health
    status:
      description: The HTTP status of the last answer (200 on success).
      type: int
      sample: 200
    attempts:
      description: How many requests were made.
      type: int
      sample: 1
    seconds:
      description: From the first request to the 200.
      type: float
      sample: 0.004
cmd:
  description: The argv of the main compose command (C(up) or C(down)).
  returned: always
  type: list
  elements: str
  sample: [docker, compose, --ansi, never, --progress, plain, --project-name, preview-app-pr-5, up, --detach]
rc:
  description: Exit code of that command.
  returned: always
  type: int
  sample: 0
stdout:
  description: Its standard output (build output goes here).
  returned: always
  type: str
stderr:
  description: Its standard error (compose's progress events and error messages go here).
  returned: always
  type: str
violations:
  description:
    - When the policy refused the compose files, each refused setting; the task's C(msg) lists them too.
  returned: when the policy refused the project
  type: list
  elements: dict
  contains:
    check:
      description: The check that refused it, the name O(allow) lifts it with.
      type: str
      sample: privileged
    subject:
      description: Where it is, a service or a top-level section and its key.
      type: str
      sample: service web
    reason:
      description: What is refused, and why.
      type: str
      sample: privileged is refused
logs:
  description:
    - On failure, a bounded report for humans, in sections, the last O(logs_on_failure) lines of the
      failing command's output (the build log when a build failed), the last healthcheck probe of each
      container that is not healthy, and the last O(logs_on_failure) lines of each container's log.
    - Lines are cut at 400 characters and the whole at 24000 characters, keeping the end.
  returned: failure
  type: str
"""

import http.client
import json
import os
import time
import urllib.parse

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.preview.envs.plugins.module_utils._args_common import host_layout
from ansible_collections.preview.envs.plugins.module_utils._compose import (
    DEAD_STATES,
    DEFAULT_FILES,
    ComposeProject,
    Limits,
    bound_text,
    check_environment_names,
    check_project_name,
    command_fields,
    default_files,
    describe_not_ready,
    down_argv,
    down_changed,
    environment_lines,
    fail_command,
    has_changes,
    host_hint,
    limits_lines,
    not_ready,
    override_file,
    parse_events,
    read_secret,
    scrubbed_environment,
    short_reason,
    tail_lines,
    up_argv,
)
from ansible_collections.preview.envs.plugins.module_utils._compose_override import (
    RouteError,
    check_port,
    check_service_name,
    decide_route,
    preview_safe_lines,
)
from ansible_collections.preview.envs.plugins.module_utils._compose_policy import (
    CHECKS,
    HAS_YAML,
    Policy,
    check_model,
    check_sources,
    check_uninterpolated,
    refusal_message,
)

POLL_INTERVAL = 0.5
# The one compose file the module writes, passed after the project's own.
OVERRIDE_FILE = "preview-override.yml"
OVERRIDE_PURPOSE = "what makes the project preview-safe, and the limits of every service"
HEALTH_INTERVAL = 0.25
HEALTH_REQUEST_TIMEOUT = 2


def env_strings(env: dict) -> dict:
    def to_str(value):
        if isinstance(value, bool):
            return "true" if value else "false"
        return "" if value is None else str(value)

    return {str(key): to_str(value) for key, value in (env or {}).items()}


def command_result(run, events, changed, containers) -> dict:
    return dict(
        changed=changed, containers=containers, actions=[event._asdict() for event in events], **command_fields(run)
    )


def fail_up(module, project, run, events, reason, containers=None):
    params = module.params
    lines = params["logs_on_failure"]
    if containers is None:
        containers = project.ps(check=False)
    pending = not_ready(containers)
    if pending and not any(container["name"] in reason for container, dummy in pending):
        reason = f"{reason}; {describe_not_ready(pending)}"
    logs = ""
    if lines > 0:
        unhealthy = [container["name"] for container, dummy in pending if container["health"]]
        logs = bound_text(
            [
                (
                    f"docker compose up output (last {lines} lines)",
                    tail_lines(run.stdout + "\n" + run.stderr, lines),
                ),
                ("health checks", project.health_logs(unhealthy)),
                (f"container logs (last {lines} lines each)", project.logs_tail(lines)),
            ]
        )
    result = command_result(run, events, has_changes(events), containers)
    msg = f"compose up failed for project {project.project_name}: {reason}"
    hint = host_hint(reason)
    if hint:
        msg = f"{msg}. {hint}"
    module.fail_json(msg=msg, logs=logs, **result)


def wait_until_ready(module, project, run, events) -> list:
    """Compose's --wait has returned 0 with containers still starting: look again until all are ready."""
    timeout = module.params["wait_timeout"]
    deadline = time.monotonic() + timeout
    while True:
        containers = project.ps()
        pending = not_ready(containers)
        if not pending:
            return containers
        if any(container["state"] in DEAD_STATES for container, dummy in pending):
            fail_up(module, project, run, events, describe_not_ready(pending), containers)
        if time.monotonic() >= deadline:
            reason = f"not ready {timeout}s after compose returned: {describe_not_ready(pending)}"
            fail_up(module, project, run, events, reason, containers)
        time.sleep(POLL_INTERVAL)


def http_status(url: str) -> int:
    """One plain-HTTP GET (health_url is checked to be http://): its status, without redirects or TLS."""
    parts = urllib.parse.urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=HEALTH_REQUEST_TIMEOUT)
    try:
        connection.request("GET", path, headers={"Connection": "close"})
        answer = connection.getresponse()
        answer.read()
        return answer.status
    finally:
        connection.close()


def probe_health(module, project, run, events, containers) -> dict:
    """GET health_url until it answers 200 (within wait_timeout); fail with the stack's logs otherwise."""
    url = module.params["health_url"]
    timeout = module.params["wait_timeout"]
    started = time.monotonic()
    attempts, last = 0, "no answer"
    while True:
        attempts += 1
        try:
            status = http_status(url)
        except (OSError, http.client.HTTPException) as exc:
            status, last = 0, str(exc) or type(exc).__name__
        if status == 200:
            return {"url": url, "status": 200, "attempts": attempts, "seconds": round(time.monotonic() - started, 3)}
        if status:
            last = f"HTTP {status}"
        if time.monotonic() - started >= timeout:
            reason = f"the app did not answer 200 on {url} within {timeout}s (last: {last}; {attempts} tries)"
            fail_up(module, project, run, events, reason, containers)
        time.sleep(HEALTH_INTERVAL)


def refuse(module, violations):
    module.fail_json(
        msg=refusal_message(violations), violations=[violation._asdict() for violation in violations], changed=False
    )


def compose_model(module, project, interpolate=True, refused=False):
    """The project's model as ``compose config`` prints it.

    When the files are already refused, compose's own complaint about them (a missing env file outside the
    checkout, say) is not reported, and None is returned.
    """
    run = project.config(interpolate)
    if run.rc == 0:
        try:
            return json.loads(run.stdout)
        except ValueError as exc:
            reason = f"cannot parse its output: {exc}"
    else:
        reason = short_reason(parse_events(run.stderr).other, run.rc)
    if refused:
        return None
    # stdout is left out: the model holds the values of the project's env files.
    fail_command(module, f"compose config failed for project {project.project_name}: {reason}", run, stdout="")


def prepare_checked(module, project, policy, limits) -> dict | None:
    """Write the generated override (``add_override``) of a project that the policy lets through, and return
    its route; the task fails otherwise.

    ``include`` and ``extends.file`` are read from the files first, since compose reads whatever they name.
    When the override changes what the policy checks, the model is read again with it, so that the policy
    judges the project as it will run.
    """
    violations = check_sources([os.path.join(project.project_src, name) for name in project.files], policy)
    if violations:
        refuse(module, violations)
    violations = check_uninterpolated(compose_model(module, project, interpolate=False), policy)
    model = compose_model(module, project, refused=bool(violations))
    if model is None:
        refuse(module, violations)
    try:
        route, rejudge = add_override(module, project, model, limits)
    except RouteError as exc:
        if violations:
            refuse(module, violations)
        fail_route(module, project, exc)
    if rejudge:
        model = compose_model(module, project)
    violations += check_model(model, policy)
    if violations:
        refuse(module, violations)
    return route


def read_secret_files(module) -> dict:
    """The values of O(secret_files), masked in everything the module returns from now on."""
    values = {}
    try:
        check_environment_names(list(module.params["service_env"]) + list(module.params["secret_files"]))
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    for name, path in module.params["secret_files"].items():
        try:
            values[name] = read_secret(str(path))
        except (OSError, ValueError) as exc:
            detail = exc.strerror if isinstance(exc, OSError) else str(exc)
            module.fail_json(msg=f"secret_files.{name}: cannot use {path}: {detail}")
        if values[name]:
            module.no_log_values.add(values[name])
    return values


def fail_route(module, project, exc):
    module.fail_json(msg=f"compose project {project.project_name}: {exc}", changed=False)


def add_override(module, project, model, limits) -> tuple[dict | None, bool]:
    """Write the one generated override into the module's temporary directory and pass it last from now on.

    It holds what makes the project preview-safe (with ``route``) and the limits of every service in one
    file: compose then runs the project's files plus one of ours, the very set the policy judges whenever ours
    changes what it checks (ports, container names), which the second value says. The first is the route
    (None without ``route``). RouteError when the routed service cannot be decided.
    """
    params = module.params
    services = model.get("services") or {}
    safe, route = {}, None
    if params["route"]:
        options = params["route"]
        decided = decide_route(model, options["host_port"], options["service"] or "", options["port"] or 0)
        safe = preview_safe_lines(model, decided, params["published_ports"])
        route = decided._asdict()
    limits_part = limits_lines(limits, params["stop_timeout"])
    limits_part += environment_lines(env_strings(params["service_env"]), list(params["secret_files"]))
    text = override_file({name: safe.get(name, []) + limits_part for name in services}, OVERRIDE_PURPOSE)
    if text:
        path = os.path.join(module.tmpdir, OVERRIDE_FILE)
        with open(path, "w", encoding="utf-8") as stream:
            stream.write(text)
        project.files.append(path)
    return route, any(safe.values())


def present(module, project) -> dict:
    params = module.params
    check = module.check_mode
    before = None if check else project.container_states()
    argv = up_argv(
        project.base(dry_run=check),
        build=params["build"],
        wait=params["wait"],
        wait_timeout=params["wait_timeout"],
        stop_timeout=params["stop_timeout"],
        remove_orphans=params["remove_orphans"],
    )
    run = project.run(argv)
    parsed = parse_events(run.stderr)
    for warning in parsed.warnings:
        module.warn(f"docker compose: {warning}")
    if run.rc != 0:
        fail_up(module, project, run, parsed.events, short_reason(parsed.other, run.rc))
    if check:
        return command_result(run, parsed.events, has_changes(parsed.events), project.ps())
    if params["wait"]:
        containers = wait_until_ready(module, project, run, parsed.events)
    else:
        containers = project.ps()
    changed = has_changes(parsed.events) or project.container_states() != before
    result = command_result(run, parsed.events, changed, containers)
    if params["health_url"]:
        result["health"] = probe_health(module, project, run, parsed.events, containers)
    return result


def absent(module, project) -> dict:
    params = module.params
    check = module.check_mode
    remove_volumes = params["remove_volumes"]
    kinds = ["container", "network"]
    if remove_volumes:
        kinds.append("volume")
    if params["remove_images"] != "none":
        kinds.append("image")
    before = project.resource_ids(kinds)
    argv = down_argv(
        project.base(dry_run=check),
        remove_volumes=remove_volumes,
        remove_orphans=params["remove_orphans"],
        remove_images=params["remove_images"],
        stop_timeout=params["stop_timeout"],
    )
    run = project.run(argv)
    parsed = parse_events(run.stderr)
    for warning in parsed.warnings:
        module.warn(f"docker compose: {warning}")
    if run.rc != 0:
        then = "the real run removes" if check else "removing"
        module.warn(
            f"compose down failed for project {project.project_name} ({short_reason(parsed.other, run.rc)}); "
            f"{then} its labelled resources directly"
        )
    if check:
        # What the real run would remove: every labelled resource found, plus the images compose names.
        changed = down_changed(before, set(), parsed.events)
        return command_result(run, parsed.events, changed, project.ps(check=False))

    # Whatever down did not know about (other compose files, a failed down, older image builds).
    events = parsed.events + project.sweep(kinds)
    after = project.resource_ids(kinds)
    result = command_result(run, events, down_changed(before, after, parsed.events), [])
    if after:
        left = ", ".join(f"{kind} {name}" for kind, name in sorted(after))
        reason = short_reason(parsed.other, run.rc) if run.rc else "they could not be removed"
        msg = f"compose down failed for project {project.project_name}: {left} left ({reason})"
        module.fail_json(msg=msg, **result)
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            project_src=dict(type="path", required=True),
            project_name=dict(type="str", required=True),
            files=dict(type="list", elements="path"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            build=dict(type="bool", default=False),
            wait=dict(type="bool", default=True),
            wait_timeout=dict(type="int", default=60),
            stop_timeout=dict(type="int"),
            remove_volumes=dict(type="bool", default=True),
            remove_orphans=dict(type="bool", default=True),
            remove_images=dict(type="str", choices=["none", "local", "all"], default="none"),
            env=dict(type="dict", default={}),
            service_env=dict(type="dict", default={}),
            secret_files=dict(type="dict", default={}, no_log=False),
            logs_on_failure=dict(type="int", default=50),
            health_url=dict(type="str"),
            policy=dict(type="bool", default=True),
            confine_to=dict(type="path"),
            allow=dict(type="list", elements="str", default=[], choices=list(CHECKS)),
            published_ports=dict(type="list", elements="int", default=[]),
            limits=dict(
                type="dict",
                default=dict(memory="512m", cpus=1.0, pids=256),
                options=dict(memory=dict(type="str"), cpus=dict(type="float"), pids=dict(type="int")),
            ),
            route=dict(
                type="dict",
                options=dict(
                    host_port=dict(type="int", required=True),
                    service=dict(type="str"),
                    port=dict(type="int"),
                ),
            ),
            **host_layout("docker_cli"),
        ),
        supports_check_mode=True,
    )
    # This process is the module's alone, and every compose command inherits its environment.
    environment = scrubbed_environment(os.environ)
    os.environ.clear()
    os.environ.update(environment)

    params = module.params
    try:
        check_project_name(params["project_name"])
        limits = Limits.create(**(params["limits"] or {}))
        route = params["route"]
        if route:
            check_port(route["host_port"], "route.host_port")
            if route["service"]:
                check_service_name(route["service"], "route.service")
            if route["port"]:
                check_port(route["port"], "route.port")
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    for name in ("wait_timeout", "stop_timeout", "logs_on_failure"):
        if params[name] is not None and params[name] < 0:
            module.fail_json(msg=f"{name} must not be negative, got {params[name]}")

    if params["health_url"] and not params["health_url"].startswith("http://"):
        module.fail_json(msg=f"health_url must be an http:// URL, got {params['health_url']!r}")

    project_src = os.path.abspath(params["project_src"])
    files = params["files"] or []
    present_state = params["state"] == "present"
    if not os.path.isdir(project_src):
        if present_state:
            module.fail_json(msg=f"project_src {project_src} is not a directory")
        project_src, files = None, []  # teardown after the checkout is gone: by name and label only
    elif present_state and not files:
        # Named explicitly: the generated override passed after them would stop compose looking for them.
        files = default_files(os.listdir(project_src))
        if not files:
            module.fail_json(msg=f"no compose file in {project_src}: looked for {', '.join(DEFAULT_FILES)}")
    for compose_file in files:
        if not os.path.isfile(os.path.join(project_src, compose_file)):
            module.fail_json(msg=f"compose file {compose_file} not found in {project_src}")

    docker_cli = module.get_bin_path(params["docker_cli"], required=True)
    env = env_strings(params["env"])
    if present_state:
        env.update(read_secret_files(module))
    project = ComposeProject(module, docker_cli, params["project_name"], project_src, files, env)
    project.detect_version()
    if not present_state:
        module.exit_json(**absent(module, project))

    if params["policy"]:
        if not HAS_YAML:
            module.fail_json(msg=missing_required_lib("PyYAML", reason="to check the compose files"))
        policy = Policy.create(
            params["confine_to"] or project_src, project.project_name, params["allow"], params["published_ports"]
        )
        route = prepare_checked(module, project, policy, limits)
    else:
        try:
            route, dummy = add_override(module, project, compose_model(module, project), limits)
        except RouteError as exc:
            fail_route(module, project, exc)
    result = present(module, project)
    if route is not None:
        result["route"] = route
    module.exit_json(**result)


if __name__ == "__main__":
    main()
