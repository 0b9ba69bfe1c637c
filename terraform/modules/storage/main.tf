# Buckets with uniform access, no public access, and lifecycle deletion by age: quick-test
# intermediates go after 7 days, experiment artifacts after 30, scratch after 3.

resource "google_storage_bucket" "access_logs" {
  count                       = var.access_log_bucket == "" ? 1 : 0
  project                     = var.project_id
  name                        = "${var.name_prefix}-access-logs"
  location                    = var.location
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.force_destroy
  versioning {
    enabled = true
  }
  lifecycle_rule {
    condition {
      age = 90
    }
    action {
      type = "Delete"
    }
  }
  # checkov:skip=CKV_GCP_62:This is the access-log bucket itself; logging it into itself would loop.
}

locals {
  log_bucket = var.access_log_bucket != "" ? var.access_log_bucket : google_storage_bucket.access_logs[0].name
}

resource "google_storage_bucket" "bucket" {
  for_each                    = var.buckets
  project                     = var.project_id
  name                        = "${var.name_prefix}-${each.key}"
  location                    = var.location
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.force_destroy
  labels                      = { platform = "experiments-platform", purpose = each.key }

  versioning {
    enabled = true
  }

  logging {
    log_bucket = local.log_bucket
  }

  dynamic "lifecycle_rule" {
    for_each = each.value.delete_age_days > 0 ? [each.value.delete_age_days] : []
    content {
      condition {
        age = lifecycle_rule.value
      }
      action {
        type = "Delete"
      }
    }
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = 1
    }
    action {
      type = "Delete"
    }
  }
}
