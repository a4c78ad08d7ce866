# Production: three AZs, a NAT gateway per AZ, Aurora with two readers (and a separate cluster
# for Temporal), Redis with a replica, OpenSearch over three zones with dedicated masters,
# three replicated ClickHouse nodes, autoscaling services, deletion protection on.
# Sizes are derived in docs/deploy.md ("Capacity").
module "morket" {
  source    = "../../modules/stack"
  providers = { aws = aws, aws.us_east_1 = aws.us_east_1 }

  environment                 = "production"
  image_tag                   = var.image_tag
  domain                      = var.domain
  api_origin_domain           = var.api_origin_domain
  cloudfront_certificate_arn  = var.cloudfront_certificate_arn
  alb_certificate_arn         = var.alb_certificate_arn
  github_owner                = var.github_owner
  github_repo                 = var.github_repo
  create_github_oidc_provider = false
  alarm_emails                = var.alarm_emails
  provider_rate_limits        = var.provider_rate_limits
  deletion_protection         = true

  az_count           = 3
  single_nat_gateway = false
  sizes = {
    api     = { cpu = 1024, memory = 2048, min = 3, max = 30 }
    worker  = { cpu = 1024, memory = 2048, min = 3, max = 60 }
    scraper = { cpu = 2048, memory = 4096, min = 2, max = 20 }
  }
  aurora     = { instance_class = "db.r7g.xlarge", reader_count = 2, temporal_cluster = true }
  redis      = { node_type = "cache.r7g.large", replicas = 1 }
  opensearch = { instance_type = "r6g.large.search", instance_count = 3, zone_count = 3, master_count = 3, volume_gb = 200 }
  clickhouse = { node_count = 3, instance_type = "r7i.xlarge", data_volume_gb = 500 }
  temporal   = { server_count = 3, cpu = 2048, memory = 4096 }
}
