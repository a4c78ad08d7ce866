variable "name" {
  description = "Prefix of the distribution's resources."
  type        = string
}

variable "aliases" {
  description = "Host names of the site, e.g. [\"app.morket.example\"]."
  type        = list(string)
}

variable "certificate_arn" {
  description = "ACM certificate in us-east-1 covering the aliases."
  type        = string
}

variable "web_bucket_name" {
  description = "Bucket holding web/dist (the deploy workflow syncs it)."
  type        = string
}

variable "web_bucket_arn" {
  description = "ARN of that bucket."
  type        = string
}

variable "web_bucket_domain_name" {
  description = "Regional domain name of that bucket."
  type        = string
}

variable "api_origin_domain" {
  description = "Host name of the API load balancer (its certificate must cover it)."
  type        = string
}

variable "origin_secret" {
  description = "Header value that proves to the ALB a request came through CloudFront."
  type        = string
  sensitive   = true
}

variable "logs_bucket_domain_name" {
  description = "Bucket for standard logs."
  type        = string
}

variable "web_acl_arn" {
  description = "WAFv2 web ACL (scope CLOUDFRONT)."
  type        = string
}

variable "price_class" {
  description = "Edge locations used."
  type        = string
  default     = "PriceClass_100"
}

data "aws_cloudfront_cache_policy" "optimized" {
  name = "Managed-CachingOptimized"
}

data "aws_cloudfront_cache_policy" "disabled" {
  name = "Managed-CachingDisabled"
}

data "aws_cloudfront_origin_request_policy" "all_viewer" {
  name = "Managed-AllViewerExceptHostHeader"
}

data "aws_cloudfront_response_headers_policy" "security" {
  name = "Managed-SecurityHeadersPolicy"
}

resource "aws_cloudfront_origin_access_control" "web" {
  name                              = "${var.name}-web"
  origin_access_control_origin_type = "s3"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

resource "aws_cloudfront_function" "spa" {
  name    = "${var.name}-spa"
  runtime = "cloudfront-js-2.0"
  publish = true
  code    = <<-JS
    function handler(event) {
      var request = event.request;
      if (!request.uri.startsWith("/api/") && request.uri.indexOf(".") === -1) {
        request.uri = "/index.html";
      }
      return request;
    }
  JS
}

resource "aws_cloudfront_distribution" "this" {
  #checkov:skip=CKV2_AWS_47:the web ACL comes from modules/waf (with AWSManagedRulesKnownBadInputsRuleSet, the Log4j rules; asserted by backend/tests/deploy) and checkov does not follow it across modules
  #checkov:skip=CKV_AWS_374:the product serves users everywhere; WAF handles abuse
  #checkov:skip=CKV_AWS_310:each behaviour has one origin (S3 web, the multi-AZ ALB); an origin group would need a second region
  enabled             = true
  is_ipv6_enabled     = true
  aliases             = var.aliases
  default_root_object = "index.html"
  price_class         = var.price_class
  web_acl_id          = var.web_acl_arn
  http_version        = "http2and3"

  origin {
    origin_id                = "web"
    domain_name              = var.web_bucket_domain_name
    origin_access_control_id = aws_cloudfront_origin_access_control.web.id
  }

  origin {
    origin_id   = "api"
    domain_name = var.api_origin_domain
    custom_header {
      name  = "X-Origin-Verify"
      value = var.origin_secret
    }
    custom_origin_config {
      http_port                = 80
      https_port               = 443
      origin_protocol_policy   = "https-only"
      origin_ssl_protocols     = ["TLSv1.2"]
      origin_read_timeout      = 60
      origin_keepalive_timeout = 60
    }
  }

  # Static assets from S3; paths without a file extension are client-side routes: index.html.
  # (Not a custom error response: that would also turn the API's own 403/404 into index.html.)
  default_cache_behavior {
    target_origin_id           = "web"
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = ["GET", "HEAD", "OPTIONS"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = true
    cache_policy_id            = data.aws_cloudfront_cache_policy.optimized.id
    response_headers_policy_id = data.aws_cloudfront_response_headers_policy.security.id
    function_association {
      event_type   = "viewer-request"
      function_arn = aws_cloudfront_function.spa.arn
    }
  }

  # The API is never cached; every header, cookie and query string reaches it.
  ordered_cache_behavior {
    path_pattern             = "/api/*"
    target_origin_id         = "api"
    viewer_protocol_policy   = "https-only"
    allowed_methods          = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]
    cached_methods           = ["GET", "HEAD"]
    compress                 = true
    cache_policy_id          = data.aws_cloudfront_cache_policy.disabled.id
    origin_request_policy_id = data.aws_cloudfront_origin_request_policy.all_viewer.id
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    acm_certificate_arn      = var.certificate_arn
    ssl_support_method       = "sni-only"
    minimum_protocol_version = "TLSv1.2_2021"
  }

  logging_config {
    bucket          = var.logs_bucket_domain_name
    prefix          = "cloudfront/"
    include_cookies = false
  }
}

# Only this distribution may read the web bucket.
resource "aws_s3_bucket_policy" "web" {
  bucket = var.web_bucket_name
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "CloudFrontRead"
        Effect    = "Allow"
        Principal = { Service = "cloudfront.amazonaws.com" }
        Action    = "s3:GetObject"
        Resource  = "${var.web_bucket_arn}/*"
        Condition = { StringEquals = { "AWS:SourceArn" = aws_cloudfront_distribution.this.arn } }
      },
      {
        Sid       = "TlsOnly"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [var.web_bucket_arn, "${var.web_bucket_arn}/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
    ]
  })
}

output "distribution_id" {
  description = "For invalidations by the deploy workflow."
  value       = aws_cloudfront_distribution.this.id
}

output "distribution_arn" {
  description = "Distribution ARN."
  value       = aws_cloudfront_distribution.this.arn
}

output "domain_name" {
  description = "CloudFront domain (point the aliases' DNS at it)."
  value       = aws_cloudfront_distribution.this.domain_name
}
