variable "name" {
  description = "Name of the server and its resources."
  type        = string
}

variable "server_type" {
  description = "Hetzner server type."
  type        = string
}

variable "location" {
  description = "Hetzner location."
  type        = string
}

variable "image" {
  description = "OS image."
  type        = string
}

variable "ssh_public_keys" {
  description = "SSH public keys allowed to log in as root."
  type        = list(string)

  validation {
    condition     = length(var.ssh_public_keys) > 0
    error_message = "Give at least one SSH public key, or nobody can log in."
  }
}

variable "ssh_source_ips" {
  description = "Networks allowed to reach SSH."
  type        = list(string)
}

variable "data_volume_gb" {
  description = "Size of the data volume; 0 for none."
  type        = number

  validation {
    condition     = var.data_volume_gb == 0 || var.data_volume_gb >= 10
    error_message = "A data volume is at least 10 GB (or 0 for none)."
  }
}
