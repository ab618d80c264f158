# An offline stand-in for the Hetzner root module: the same variables the CLI passes and the same
# outputs, from the built-in terraform_data resource, so `preview setup` can run Terraform for real
# where no provider can be downloaded (tests, air-gapped machines). It creates nothing anywhere.

terraform {
  required_version = ">= 1.5"
}

variable "name" {
  description = "Name of the pretend server."
  type        = string
  default     = "preview"
}

variable "ssh_public_key" {
  description = "Accepted and ignored, as the real module's is used for the server."
  type        = string
  default     = ""
}

variable "server_ipv4" {
  description = "The address the pretend server reports (default from TEST-NET-1, RFC 5737)."
  type        = string
  default     = "192.0.2.10"
}

resource "terraform_data" "server" {
  input = {
    name = var.name
    ipv4 = var.server_ipv4
  }
}

output "server_ipv4" {
  description = "Public IPv4 address of the pretend server."
  value       = terraform_data.server.output.ipv4
}

output "server_ipv6" {
  description = "Public IPv6 address of the pretend server (documentation prefix, RFC 3849)."
  value       = "2001:db8::10"
}

output "server_id" {
  description = "ID of the pretend server."
  value       = terraform_data.server.id
}

output "server_name" {
  description = "Name of the pretend server."
  value       = terraform_data.server.output.name
}

output "ssh_user" {
  description = "The user Ansible would log in as."
  value       = "root"
}
