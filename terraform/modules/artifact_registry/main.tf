resource "google_artifact_registry_repository" "images" {
  project       = var.project_id
  location      = var.location
  repository_id = var.repository_id
  format        = "DOCKER"
  description   = "Images of the experiments platform."

  docker_config {
    immutable_tags = true
  }

  cleanup_policy_dry_run = false
  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = var.keep_recent_versions
    }
  }
  cleanup_policies {
    id     = "delete-untagged"
    action = "DELETE"
    condition {
      tag_state = "UNTAGGED"
    }
  }
  # checkov:skip=CKV_GCP_84:Images hold no customer data; Google-managed encryption suffices and a CMEK adds a key ring to manage per environment.
}

resource "google_artifact_registry_repository_iam_member" "reader" {
  for_each   = toset(var.readers)
  project    = var.project_id
  location   = var.location
  repository = google_artifact_registry_repository.images.name
  role       = "roles/artifactregistry.reader"
  member     = each.key
}
