# One Cloud Run service, running as its own service account, invoked only by named identities
# (or through IAP for the gateway). The container command is the Dockerfile's.

data "google_project" "this" {
  project_id = var.project_id
}

resource "google_cloud_run_v2_service" "service" {
  provider            = google-beta
  project             = var.project_id
  location            = var.region
  name                = var.name
  ingress             = var.ingress
  launch_stage        = var.iap ? "BETA" : null
  iap_enabled         = var.iap
  custom_audiences    = var.custom_audiences
  deletion_protection = var.deletion_protection
  labels              = { platform = "experiments-platform" }

  template {
    service_account                  = var.service_account_email
    timeout                          = "${var.timeout_s}s"
    max_instance_request_concurrency = var.concurrency

    scaling {
      min_instance_count = var.min_instances
      max_instance_count = var.max_instances
    }

    dynamic "volumes" {
      for_each = length(var.cloudsql_instances) > 0 ? [1] : []
      content {
        name = "cloudsql"
        cloud_sql_instance {
          instances = var.cloudsql_instances
        }
      }
    }

    containers {
      image = var.image
      args  = length(var.args) > 0 ? var.args : null

      resources {
        limits            = { cpu = var.cpu, memory = var.memory }
        cpu_idle          = var.min_instances == 0
        startup_cpu_boost = true
      }

      dynamic "env" {
        for_each = var.env
        content {
          name  = env.key
          value = env.value
        }
      }

      dynamic "env" {
        for_each = var.secret_env
        content {
          name = env.key
          value_source {
            secret_key_ref {
              secret  = env.value
              version = "latest"
            }
          }
        }
      }

      dynamic "volume_mounts" {
        for_each = length(var.cloudsql_instances) > 0 ? [1] : []
        content {
          name       = "cloudsql"
          mount_path = "/cloudsql"
        }
      }

      startup_probe {
        http_get {
          path = var.health_path
        }
        period_seconds    = var.startup_probe_period_s
        failure_threshold = var.startup_probe_failure_threshold
      }
    }
  }
}

resource "google_cloud_run_v2_service_iam_member" "invoker" {
  for_each = toset(var.invokers)
  project  = var.project_id
  location = var.region
  name     = google_cloud_run_v2_service.service.name
  role     = "roles/run.invoker"
  member   = each.key
}

resource "google_project_service_identity" "iap" {
  count    = var.iap ? 1 : 0
  provider = google-beta
  project  = var.project_id
  service  = "iap.googleapis.com"
}

resource "google_cloud_run_v2_service_iam_member" "iap_invoker" {
  count    = var.iap ? 1 : 0
  project  = var.project_id
  location = var.region
  name     = google_cloud_run_v2_service.service.name
  role     = "roles/run.invoker"
  member   = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-iap.iam.gserviceaccount.com"

  depends_on = [google_project_service_identity.iap]
}

resource "google_iap_web_cloud_run_service_iam_member" "user" {
  for_each               = var.iap ? toset(var.iap_members) : toset([])
  provider               = google-beta
  project                = var.project_id
  location               = var.region
  cloud_run_service_name = google_cloud_run_v2_service.service.name
  role                   = "roles/iap.httpsResourceAccessor"
  member                 = each.key
}
