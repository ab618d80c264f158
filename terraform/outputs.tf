output "server_ipv4" {
  description = "Public IPv4 address of the server: where GitHub sends webhooks and Ansible connects."
  value       = hcloud_server.preview.ipv4_address
}

output "server_ipv6" {
  description = "Public IPv6 address of the server."
  value       = hcloud_server.preview.ipv6_address
}

output "server_id" {
  description = "Hetzner ID of the server."
  value       = hcloud_server.preview.id
}

output "server_name" {
  description = "Name of the server."
  value       = hcloud_server.preview.name
}

output "ssh_user" {
  description = "The user Ansible logs in as (Hetzner images allow root with the injected key)."
  value       = "root"
}
