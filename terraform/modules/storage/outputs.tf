output "names" {
  description = "Bucket suffix to bucket name."
  value       = { for key, bucket in google_storage_bucket.bucket : key => bucket.name }
}

output "urls" {
  description = "Bucket suffix to gs:// URL."
  value       = { for key, bucket in google_storage_bucket.bucket : key => bucket.url }
}
