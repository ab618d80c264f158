from __future__ import annotations

from ansible_collections.preview.envs.plugins.module_utils._naming import LABEL_RE
from ansible_collections.preview.envs.plugins.modules.nginx_site import render


def test_path_routing_is_a_location_block():
    name, content = render("app-pr-5", 8005, "", 80)
    assert name == "app-pr-5.location.conf"
    assert "location /app-pr-5/ {" in content
    assert "proxy_pass http://127.0.0.1:8005/;" in content
    assert "server {" not in content


def test_subdomain_routing_is_a_server_block():
    name, content = render("app-pr-5", 8005, "preview.example.com", 8080)
    assert name == "app-pr-5.server.conf"
    assert "server_name app-pr-5.preview.example.com;" in content
    assert "listen 8080;" in content
    assert "proxy_pass http://127.0.0.1:8005;" in content


def test_label_pattern_rejects_injection():
    for bad in ["app-pr-5; include /etc/passwd", "app-pr-5/", "{{x}}-pr-1", "app-pr-", "App-pr-1", "app"]:
        assert not LABEL_RE.match(bad)
    assert LABEL_RE.match("hello-world-pr-123")
