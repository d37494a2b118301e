fn main(){ let _ = stalwart_smtp_proto::Request::<String>::Quit; }
