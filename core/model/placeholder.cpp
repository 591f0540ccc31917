namespace querylens {}
