# The reconcile sweep: repairs experiments whose Pub/Sub events were lost by asking Cloud Build and
# Vertex AI for the real state.

resource "google_cloud_scheduler_job" "reconcile" {
  project          = var.project_id
  region           = var.region
  name             = "reconcile-experiments"
  description      = "Repair experiments whose state events were lost."
  schedule         = var.schedule
  time_zone        = "Etc/UTC"
  attempt_deadline = "${var.attempt_deadline_s}s"

  retry_config {
    retry_count = 1
  }

  http_target {
    http_method = "POST"
    uri         = var.target_url
    oidc_token {
      service_account_email = var.service_account_email
      audience              = var.audience
    }
  }
}
