# One server for pull-request previews: nginx on 80/443 in front of the webhook shim and the
# preview containers, SSH on 22 for Ansible. Everything else inbound is dropped by the firewall.

locals {
  labels   = merge({ "managed-by" = "preview-envs" }, var.labels)
  anywhere = ["0.0.0.0/0", "::/0"]
}

resource "hcloud_ssh_key" "admin" {
  name       = "${var.name}-admin"
  public_key = trimspace(var.ssh_public_key)
  labels     = local.labels
}

resource "hcloud_firewall" "web" {
  name   = "${var.name}-web"
  labels = local.labels

  rule {
    description = "SSH, for Ansible"
    direction   = "in"
    protocol    = "tcp"
    port        = "22"
    source_ips  = var.ssh_source_ips
  }

  rule {
    description = "HTTP: GitHub webhooks and previews"
    direction   = "in"
    protocol    = "tcp"
    port        = "80"
    source_ips  = local.anywhere
  }

  rule {
    description = "HTTPS: GitHub webhooks and previews, once TLS is set up"
    direction   = "in"
    protocol    = "tcp"
    port        = "443"
    source_ips  = local.anywhere
  }
}

resource "hcloud_server" "preview" {
  name         = var.name
  server_type  = var.server_type
  image        = var.image
  location     = var.location
  ssh_keys     = [hcloud_ssh_key.admin.id]
  firewall_ids = [hcloud_firewall.web.id]
  labels       = local.labels

  public_net {
    ipv4_enabled = true
    ipv6_enabled = true
  }

  lifecycle {
    # Keys are injected at creation only; a new key must not rebuild the server and its previews.
    ignore_changes = [ssh_keys]
  }
}
