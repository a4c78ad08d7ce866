# Staging: the production shape, reduced. Two AZs, one NAT gateway, single-node data stores, one
# task per service (autoscaling to 2), no deletion protection.
module "morket" {
  source    = "../../modules/stack"
  providers = { aws = aws, aws.us_east_1 = aws.us_east_1 }

  environment                 = "staging"
  image_tag                   = var.image_tag
  domain                      = var.domain
  api_origin_domain           = var.api_origin_domain
  cloudfront_certificate_arn  = var.cloudfront_certificate_arn
  alb_certificate_arn         = var.alb_certificate_arn
  github_owner                = var.github_owner
  github_repo                 = var.github_repo
  create_github_oidc_provider = true
  alarm_emails                = var.alarm_emails
  provider_rate_limits        = var.provider_rate_limits
  deletion_protection         = false

  az_count           = 2
  single_nat_gateway = true
  sizes = {
    api     = { cpu = 512, memory = 1024, min = 1, max = 2 }
    worker  = { cpu = 1024, memory = 2048, min = 1, max = 2 }
    scraper = { cpu = 2048, memory = 4096, min = 1, max = 2 }
  }
  aurora     = { instance_class = "db.t4g.medium", reader_count = 0, temporal_cluster = false }
  redis      = { node_type = "cache.t4g.micro", replicas = 0 }
  opensearch = { instance_type = "t3.medium.search", instance_count = 1, zone_count = 1, master_count = 0, volume_gb = 20 }
  clickhouse = { node_count = 1, instance_type = "m7i.large", data_volume_gb = 50 }
  temporal   = { server_count = 1, cpu = 512, memory = 1024 }
}
