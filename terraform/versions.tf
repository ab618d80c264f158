terraform {
  required_version = ">= 1.5"

  required_providers {
    hcloud = {
      source  = "hetznercloud/hcloud"
      version = "~> 1.45"
    }
  }
}

# A null token leaves the provider to read HCLOUD_TOKEN from the environment.
provider "hcloud" {
  token = var.hcloud_token
}
