output "ipv4_address" {
  description = "The server's public IPv4 address, for the Ansible inventory."
  value       = module.vps.ipv4_address
}

output "ipv6_address" {
  description = "The server's public IPv6 address."
  value       = module.vps.ipv6_address
}
