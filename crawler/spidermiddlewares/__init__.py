"""Spider middlewares, one module per role (as in scrapy.spidermiddlewares): reused answers'
stamp, skipping the start requests of a resumed crawl."""
