# MLflow tracking server on Cloud Run, PostgreSQL on Cloud SQL, artifacts proxied to GCS.
# Sizing (docs/decisions/031): a dedicated-core database, warm instances, bounded connection pools.

data "google_project" "this" {
  project_id = var.project_id
}

locals {
  service_name = "mlflow"
  service_host = "${local.service_name}-${data.google_project.this.number}.${var.region}.run.app"
}

resource "google_sql_database_instance" "mlflow" {
  project             = var.project_id
  name                = "mlflow"
  region              = var.region
  database_version    = "POSTGRES_15"
  deletion_protection = var.deletion_protection

  settings {
    tier              = var.database_tier
    edition           = "ENTERPRISE"
    availability_type = "ZONAL"
    disk_type         = "PD_SSD"
    disk_size         = var.database_disk_gb
    disk_autoresize   = true

    ip_configuration {
      ipv4_enabled = true
      ssl_mode     = "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"
    }

    backup_configuration {
      enabled                        = true
      point_in_time_recovery_enabled = true
      start_time                     = "03:00"
    }

    insights_config {
      query_insights_enabled = true
    }

    database_flags {
      name  = "max_connections"
      value = tostring(var.max_connections)
    }
    database_flags {
      name  = "log_checkpoints"
      value = "on"
    }
    database_flags {
      name  = "log_connections"
      value = "on"
    }
    database_flags {
      name  = "log_disconnections"
      value = "on"
    }
    database_flags {
      name  = "log_lock_waits"
      value = "on"
    }
    database_flags {
      name  = "log_min_messages"
      value = "error"
    }
    database_flags {
      name  = "log_min_duration_statement"
      value = "-1"
    }
    database_flags {
      name  = "log_hostname"
      value = "on"
    }
    database_flags {
      name  = "log_duration"
      value = "on"
    }
    database_flags {
      name  = "log_statement"
      value = "ddl"
    }
    database_flags {
      name  = "log_min_error_statement"
      value = "error"
    }
    database_flags {
      name  = "cloudsql.enable_pgaudit"
      value = "on"
    }
  }
  # checkov:skip=CKV_GCP_60:Public IP with no authorized networks: only the Cloud SQL connector (IAM-authorised, TLS) of Cloud Run reaches it; a private IP would add a VPC and a connector for one client.
  # checkov:skip=CKV_GCP_79:POSTGRES_15 is the version MLflow's migrations are tested on here; move with MLflow, not ahead of it.
}

resource "google_sql_database" "mlflow" {
  project  = var.project_id
  instance = google_sql_database_instance.mlflow.name
  name     = "mlflow"
}

resource "random_password" "database" {
  length  = 32
  special = false
}

resource "google_sql_user" "mlflow" {
  project  = var.project_id
  instance = google_sql_database_instance.mlflow.name
  name     = "mlflow"
  password = random_password.database.result
}

resource "google_secret_manager_secret" "backend_store_uri" {
  project   = var.project_id
  secret_id = "mlflow-backend-store-uri"
  replication {
    user_managed {
      replicas {
        location = var.region
      }
    }
  }
}

resource "google_secret_manager_secret_version" "backend_store_uri" {
  secret      = google_secret_manager_secret.backend_store_uri.id
  secret_data = "postgresql+psycopg2://${google_sql_user.mlflow.name}:${random_password.database.result}@/${google_sql_database.mlflow.name}?host=/cloudsql/${google_sql_database_instance.mlflow.connection_name}"
}

resource "google_secret_manager_secret_iam_member" "server_reads_uri" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.backend_store_uri.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${var.service_account_email}"
}

resource "google_project_iam_member" "server_connects_sql" {
  project = var.project_id
  role    = "roles/cloudsql.client"
  member  = "serviceAccount:${var.service_account_email}"
}

resource "google_storage_bucket_iam_member" "server_writes_artifacts" {
  bucket = var.artifact_bucket
  role   = "roles/storage.objectAdmin"
  member = "serviceAccount:${var.service_account_email}"
}

# MLflow's schema migrations, once per image, before the server starts: the server's workers would
# otherwise race the migrations on a first boot. run_execution_token makes the apply wait until
# this execution completed (Cloud Run Admin API, Job.runExecutionToken); a new token (image tag)
# runs them again after an MLflow upgrade.
resource "google_cloud_run_v2_job" "migrate" {
  provider            = google-beta
  project             = var.project_id
  location            = var.region
  name                = "${local.service_name}-migrate"
  deletion_protection = var.deletion_protection
  run_execution_token = var.migration_token
  labels              = { platform = "experiments-platform" }

  template {
    task_count = 1
    template {
      service_account = var.service_account_email
      max_retries     = 1
      timeout         = "600s"

      volumes {
        name = "cloudsql"
        cloud_sql_instance {
          instances = [google_sql_database_instance.mlflow.connection_name]
        }
      }

      containers {
        image   = var.image
        command = ["/bin/sh", "-c"]
        args    = ["exec mlflow db upgrade \"$MLFLOW_BACKEND_STORE_URI\""]
        env {
          name = "MLFLOW_BACKEND_STORE_URI"
          value_source {
            secret_key_ref {
              secret  = google_secret_manager_secret.backend_store_uri.secret_id
              version = "latest"
            }
          }
        }
        volume_mounts {
          name       = "cloudsql"
          mount_path = "/cloudsql"
        }
      }
    }
  }

  depends_on = [
    google_project_iam_member.server_connects_sql,
    google_secret_manager_secret_iam_member.server_reads_uri,
    google_secret_manager_secret_version.backend_store_uri,
    google_sql_database.mlflow,
    google_sql_user.mlflow,
  ]
}

module "server" {
  source                = "../cloud_run_service"
  project_id            = var.project_id
  region                = var.region
  name                  = local.service_name
  image                 = var.image
  service_account_email = var.service_account_email
  cpu                   = "1"
  memory                = "2Gi"
  min_instances         = var.min_instances
  max_instances         = var.max_instances
  concurrency           = 40
  timeout_s             = 120
  health_path           = "/health"
  # A warm start takes ~8 s (docs/architecture.md); Cloud Run allows failure_threshold x period up to 240 s.
  startup_probe_period_s          = 10
  startup_probe_failure_threshold = 24
  cloudsql_instances              = [google_sql_database_instance.mlflow.connection_name]
  invokers                        = var.invokers
  deletion_protection             = var.deletion_protection
  args = [
    "mlflow", "server", "--host", "0.0.0.0", "--port", "8080", "--workers", tostring(var.workers),
  ]
  env = {
    MLFLOW_ARTIFACTS_DESTINATION = "gs://${var.artifact_bucket}/mlflow"
    # Both URLs Cloud Run serves the service at: NAME-PROJECT_NUMBER.REGION.run.app and NAME-HASH-REGIONCODE.a.run.app
    MLFLOW_SERVER_ALLOWED_HOSTS         = "${local.service_host},${local.service_name}-*.a.run.app,localhost:8080"
    MLFLOW_SERVER_ENABLE_JOB_EXECUTION  = "false"
    MLFLOW_SQLALCHEMYSTORE_POOL_SIZE    = tostring(var.pool_size)
    MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW = tostring(var.pool_max_overflow)
    MLFLOW_SQLALCHEMYSTORE_POOL_RECYCLE = "1800"
  }
  secret_env = {
    MLFLOW_BACKEND_STORE_URI = google_secret_manager_secret.backend_store_uri.secret_id
  }

  depends_on = [
    google_cloud_run_v2_job.migrate,
    google_project_iam_member.server_connects_sql,
    google_secret_manager_secret_iam_member.server_reads_uri,
    google_secret_manager_secret_version.backend_store_uri,
  ]
}

check "connections_fit" {
  assert {
    condition     = var.max_instances * var.workers * (var.pool_size + var.pool_max_overflow) < var.max_connections
    error_message = "max_instances x workers x (pool_size + pool_max_overflow) must stay below max_connections, or requests queue for connections."
  }
}
