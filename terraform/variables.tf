variable "hcloud_token" {
  description = "Hetzner Cloud API token with read & write access. Leave unset to use HCLOUD_TOKEN from the environment."
  type        = string
  default     = null
  sensitive   = true
}

variable "name" {
  description = "Name of the server; also the prefix of the SSH key and firewall names. Must be a valid hostname."
  type        = string
  default     = "preview"

  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", var.name))
    error_message = "name must be lowercase letters, digits and dashes (a hostname label), at most 63 characters."
  }
}

variable "ssh_public_key" {
  description = "OpenSSH public key (the text, not a path) that may log in as root; Ansible connects with its private half."
  type        = string

  validation {
    condition     = can(regex("^(ssh-(ed25519|rsa)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\\.com) ", trimspace(var.ssh_public_key)))
    error_message = "ssh_public_key must be an OpenSSH public key line, such as the content of ~/.ssh/id_ed25519.pub."
  }
}

variable "server_type" {
  description = "Hetzner server type (`hcloud server-type list`). Two vCPUs and 4 GB hold a handful of small previews."
  type        = string
  default     = "cx23"
}

variable "location" {
  description = "Hetzner location (`hcloud location list`), such as nbg1, fsn1, hel1, ash or hil."
  type        = string
  default     = "nbg1"
}

variable "image" {
  description = "Operating system image. The playbooks support Debian 12/13 and Ubuntu."
  type        = string
  default     = "debian-12"
}

variable "ssh_source_ips" {
  description = "Networks allowed to reach SSH (port 22). Narrow this to your own addresses where you can."
  type        = list(string)
  default     = ["0.0.0.0/0", "::/0"]
}

variable "labels" {
  description = "Extra labels on the server, SSH key and firewall."
  type        = map(string)
  default     = {}
}
