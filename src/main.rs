fn main() {
    println!("flipcheck");
}
